"""Trace and span ids for every request, and which of them are sampled, at a hot-path cost
of one string slice and one string built.

Ids are cut from a pool of random hex refilled from the OS' random source 4,096 at a time:
`bytes.hex` lays the pool out as `R-S-R-S-…` (8 random bytes each), so a request's "R-S" is
one slice. A trace id is a random 8-byte prefix (new with each pool) then R: its right-most
8 bytes, the ones backends sample on, are random per request, as W3C Trace Context level 2
asks. Which requests are sampled is a Bernoulli process drawn as geometric gaps: a countdown
per request instead of a random number.
"""

from __future__ import annotations

import math
import os
import random
import secrets
from collections.abc import Callable

TRACEPARENT = "traceparent"
IDS_PER_REFILL = 4096
_STRIDE = 34  # "R-S-": 16 + 1 + 16 hex and the next separator
_NEVER = 1 << 62


class TraceIds:
    def __init__(self, sample_ratio: float, rng: random.Random | None = None) -> None:
        if not 0.0 <= sample_ratio <= 1.0:
            raise ValueError(f"sample ratio {sample_ratio} is not between 0 and 1")
        self.sample_ratio = sample_ratio
        self.rng = rng or random.Random()
        self._last_sampled: str | None = None
        self._next = self.source(self._note_sampled)

    def gap(self) -> int:
        """Requests until the next sampled one (1: the next)."""
        ratio = self.sample_ratio
        if ratio <= 0.0:
            return _NEVER
        if ratio >= 1.0:
            return 1
        # Inverse transform of the geometric distribution: P(gap = k) = (1 - p)^(k - 1) p.
        return int(math.log(1.0 - self.rng.random()) / math.log1p(-ratio)) + 1

    def source(self, on_sampled: Callable[[str], None]) -> Callable[[], str]:
        """A function returning each request's traceparent; for a sampled one it first calls
        `on_sampled` with its trace id."""
        end = IDS_PER_REFILL * _STRIDE
        head, pool, position, countdown = "", "", end, self.gap()
        gap = self.gap

        def next_traceparent() -> str:
            nonlocal head, pool, position, countdown
            if position >= end:
                head = "00-" + secrets.token_hex(8)
                pool, position = os.urandom(16 * IDS_PER_REFILL).hex("-", 8), 0
            position += _STRIDE
            countdown -= 1
            if countdown:  # one string built (the f-string), besides the slice
                return f"{head}{pool[position - _STRIDE : position - 1]}-00"
            countdown = gap()
            header = f"{head}{pool[position - _STRIDE : position - 1]}-01"
            on_sampled(header[3:35])
            return header

        return next_traceparent

    def _note_sampled(self, trace_id: str) -> None:
        self._last_sampled = trace_id

    def next(self) -> tuple[str, str | None]:
        """One traceparent and, when it is sampled, its trace id (else None)."""
        self._last_sampled = None
        header = self._next()
        return header, self._last_sampled


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
