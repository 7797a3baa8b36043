"""When each arrival is due: fixed by the clock, never by when the previous one went out.

The n-th arrival after an anchor is due at anchor + n / rate (constant spacing, as k6's
arrival-rate executors) or after n seeded exponential gaps (a Poisson process). A generator
that fell behind finds the arrivals it missed already due, with their intended times: it
catches up instead of quietly lowering the rate. A new rate re-anchors at the last intended
time, so a shape that changes the rate every second neither loses a partial gap nor forgives
a backlog.
"""

from __future__ import annotations

import math
import random

PROCESSES = ("constant", "poisson")


class ArrivalSchedule:
    def __init__(self, process: str = "constant", seed: int | None = None) -> None:
        if process not in PROCESSES:
            raise ValueError(f"arrival process must be one of {', '.join(PROCESSES)}")
        self.poisson = process == "poisson"
        self.random = random.Random(seed)
        self.rate = 0.0
        self.anchor = 0.0
        self.count = 0  # arrivals taken since the anchor
        self.last = 0.0  # the intended time of the last arrival taken (or the anchor)
        self.due = math.inf  # the next arrival's intended time

    def set_rate(self, rate: float, now: float) -> None:
        """Arrivals per second from now on (0: none). From a standstill the schedule starts
        at `now` (a pause owes no arrivals); otherwise it continues from the last intended
        time at the new rate."""
        if rate == self.rate:
            return
        anchor = self.last if self.rate > 0 else now
        self.rate, self.anchor, self.count, self.last = rate, anchor, 0, anchor
        self.due = self._next_due()

    def take(self) -> float:
        """The intended time of the next arrival, consumed."""
        due = self.last = self.due
        self.count += 1
        self.due = self._next_due()
        return due

    def _next_due(self) -> float:
        if self.rate <= 0:
            return math.inf
        if self.poisson:
            return self.last + self.random.expovariate(self.rate)
        # Multiplying, not adding gaps: the n-th time stays exact after millions of arrivals.
        return self.anchor + (self.count + 1) / self.rate
