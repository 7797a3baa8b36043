"""Trace and span ids for every request, and which of them are sampled, at a hot-path cost
of one `next` on a list of whole traceparents (no Python frame).

Pools of 1,024 headers are laid out at once and cut into a list (building each header per
request, from a slice and an f-string in a Python function, cost twice as much): random hex
from the OS' random source is copied into a template 8 bytes at a time, which needs the
random runs 8-aligned (`_layout`). A trace id is a prefix random per pool then 8 random
bytes per request (its right-most, the ones backends sample on, as W3C Trace Context level 2
asks); a span id is 15 hex digits random per request and one per pool. Which requests are
sampled is a Bernoulli process drawn as geometric gaps and written into the pool's flags, so
a request reads it from its header's last character: `1` is sampled.
"""

from __future__ import annotations

import itertools
import math
import os
import random
import secrets
from collections.abc import Callable, Iterator

TRACEPARENT = "traceparent"
SAMPLED = "1"  # a traceparent's last character when its sampled flag is set
IDS_PER_REFILL = 1024  # pools past the allocator's 128 KiB cost a third more per header
_NEVER = 1 << 62

# One cycle of the pool, 56 characters (7 words of 8): a header starts at 5 and ends 4 into
# the next cycle, where a space parts it from the next. `T` is the trace id's prefix and `S`
# the span id's last digit, both random per pool; `r` is random per request, written as
# words 3-6 (24-55), then the `-` at 40 again.
#   0 S   1 -   2-3 flags   4 " "   5-7 "00-"   8-23 T   24-39 r   40 -   41-55 r
_CYCLE = 56
_FIRST = 5
_LENGTH = 55  # "00-" 32 "-" 16 "-" 2
_TEMPLATE = b"0-00 00-" + bytes(_CYCLE - 8)
# Repeated once: a pool starts as a copy (repeating the cycle per pool cost a third more).
_POOL_TEMPLATE = _TEMPLATE * IDS_PER_REFILL + _TEMPLATE[: _FIRST - 1]


def _layout() -> bytearray:
    """A pool of IDS_PER_REFILL unsampled traceparents, header n at n * _CYCLE + _FIRST."""
    pool = bytearray(_POOL_TEMPLATE)
    words = memoryview(pool)[: IDS_PER_REFILL * _CYCLE].cast("Q")
    prefix = memoryview(secrets.token_hex(8).encode() * IDS_PER_REFILL).cast("Q")
    random_words = memoryview(os.urandom(16 * IDS_PER_REFILL).hex().encode()).cast("Q")
    words[1::7], words[2::7] = prefix[0::2], prefix[1::2]
    for word in range(4):
        words[3 + word :: 7] = random_words[word::4]
    words.release()
    pool[40::_CYCLE] = b"-" * IDS_PER_REFILL
    pool[_CYCLE::_CYCLE] = secrets.token_hex(1)[:1].encode() * IDS_PER_REFILL
    return pool


class TraceIds:
    def __init__(self, sample_ratio: float, rng: random.Random | None = None) -> None:
        if not 0.0 <= sample_ratio <= 1.0:
            raise ValueError(f"sample ratio {sample_ratio} is not between 0 and 1")
        self.sample_ratio = sample_ratio
        self.rng = rng or random.Random()
        self._next = self.source()

    def gap(self) -> int:
        """Requests until the next sampled one (1: the next)."""
        ratio = self.sample_ratio
        if ratio <= 0.0:
            return _NEVER
        if ratio >= 1.0:
            return 1
        # Inverse transform of the geometric distribution: P(gap = k) = (1 - p)^(k - 1) p.
        return int(math.log(1.0 - self.rng.random()) / math.log1p(-ratio)) + 1

    def _pools(self) -> Iterator[list[str]]:
        last_flag = _FIRST + _LENGTH - 1
        sampled = ord(SAMPLED)
        index = self.gap() - 1  # of the next sampled header, counted from this pool's first
        while True:
            pool = _layout()
            while index < IDS_PER_REFILL:
                pool[index * _CYCLE + last_flag] = sampled
                index += self.gap()
            index -= IDS_PER_REFILL
            yield pool[_FIRST:].decode("ascii").split(" ")

    def source(self) -> Callable[[], str]:
        """A function returning each request's traceparent (sampled: ending in `SAMPLED`). A
        list iterator's `__next__`, chained over pools: C all the way, no Python frame."""
        return itertools.chain.from_iterable(self._pools()).__next__

    def next(self) -> tuple[str, str | None]:
        """One traceparent and, when it is sampled, its trace id (else None)."""
        header = self._next()
        return header, header[3:35] if header[-1] == SAMPLED else None


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
