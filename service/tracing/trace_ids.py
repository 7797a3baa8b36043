"""Trace and span ids for every request, and which of them are sampled, at a hot-path cost
of a string slice.

Ids are cut from a pool of random hex refilled from the OS' random source 4,096 at a time
(every id fully random, as W3C Trace Context asks: backends sample on their bits). Which
requests are sampled is a Bernoulli process drawn as geometric gaps: a countdown per request
instead of a random number.
"""

from __future__ import annotations

import math
import os
import random

TRACEPARENT = "traceparent"
IDS_PER_REFILL = 4096
_ID_CHARS = 48  # 32 hex of trace id, 16 of span id
_NEVER = 1 << 62


class TraceIds:
    """`next()` returns the traceparent header of a new request and, when it is sampled, its
    trace id (else None)."""

    def __init__(self, sample_ratio: float, rng: random.Random | None = None) -> None:
        if not 0.0 <= sample_ratio <= 1.0:
            raise ValueError(f"sample ratio {sample_ratio} is not between 0 and 1")
        self.sample_ratio = sample_ratio
        self.rng = rng or random.Random()
        self.pool = ""
        self.position = 0
        self.countdown = self._gap()

    def _gap(self) -> int:
        """Requests until the next sampled one (1: the next)."""
        ratio = self.sample_ratio
        if ratio <= 0.0:
            return _NEVER
        if ratio >= 1.0:
            return 1
        # Inverse transform of the geometric distribution: P(gap = k) = (1 - p)^(k - 1) p.
        return int(math.log(1.0 - self.rng.random()) / math.log1p(-ratio)) + 1

    def next(self) -> tuple[str, str | None]:
        position = self.position
        if position >= len(self.pool):
            self.pool, position = os.urandom(_ID_CHARS // 2 * IDS_PER_REFILL).hex(), 0
        self.position = position + _ID_CHARS
        ids = self.pool[position : position + _ID_CHARS]
        self.countdown -= 1
        if self.countdown:
            return f"00-{ids[:32]}-{ids[32:]}-00", None
        self.countdown = self._gap()
        return f"00-{ids[:32]}-{ids[32:]}-01", ids[:32]


def sampled_trace_id(traceparent: str) -> str | None:
    """The trace id of a traceparent a scenario set itself, when its sampled flag is set."""
    parts = traceparent.strip().split("-")
    if len(parts) < 4 or len(parts[1]) != 32 or len(parts[3]) != 2:
        return None
    try:
        sampled = int(parts[3], 16) & 1
        int(parts[1], 16)
    except ValueError:
        return None
    return parts[1].lower() if sampled and parts[1].strip("0") else None
