"""Native (exponential) histogram buckets, as Prometheus defines them.

With schema s, bucket i holds the values in (base^(i-1), base^i], base = 2^(2^-s): its index is
ceil(log2(v) * 2^s), arithmetic and not a search. Every bucket spans a ratio of `base`, so a
quantile interpolated inside one is off by at most base - 1 relative to the true value, the
same bound the classic layout gives (see `buckets`). Values within the zero threshold of 0 go
to the zero bucket. Lowering the schema by d merges 2^d neighbours into one bucket exactly,
which is how a master adds a worker's buckets kept at a finer schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import compress
from math import ceil, log2
from operator import sub
from typing import NamedTuple

MIN_SCHEMA = -4
MAX_SCHEMA = 8
# client_golang's default: only an exact 0 (or what float cannot tell from it) is "zero".
ZERO_THRESHOLD = 2.0**-128
# Gaps of up to this many empty buckets are sent as zero deltas rather than a new span,
# which is shorter on the wire (client_golang does the same).
MAX_GAP_IN_SPAN = 2


def bucket_error(schema: int) -> float:
    """The largest relative error of a quantile read from buckets of `schema`."""
    return 2.0 ** (2.0**-schema) - 1


def schema_for(max_error: float) -> int:
    """The coarsest schema whose buckets keep a quantile within `max_error` (relative)."""
    for schema in range(MIN_SCHEMA, MAX_SCHEMA + 1):
        if bucket_error(schema) <= max_error:
            return schema
    return MAX_SCHEMA


def index(value: float, scale: float) -> int:
    """The bucket of a positive finite value; `scale` is 2**schema."""
    return ceil(log2(value) * scale)


def downscaled(buckets: Iterable[tuple[int, int]], by: int) -> dict[int, int]:
    """Buckets at a schema `by` lower: each index i goes to ceil(i / 2^by)."""
    merged: dict[int, int] = {}
    for key, count in buckets:
        key = ((key - 1) >> by) + 1
        merged[key] = merged.get(key, 0) + count
    return merged


def add_into(target: dict[int, int], buckets: Iterable[tuple[int, int]]) -> None:
    for key, count in buckets:
        target[key] = target.get(key, 0) + count


def spans_and_deltas(buckets: dict[int, int]) -> tuple[list[tuple[int, int]], list[int]]:
    """The protobuf encoding of sparse buckets: (offset, length) spans, each offset relative
    to the end of the previous span, and each count as the difference to the previous one.
    Gaps of up to MAX_GAP_IN_SPAN empty buckets are sent as zero counts inside a span."""
    keys = sorted(buckets)
    spans: list[tuple[int, int]] = []
    counts: list[int] = []
    if not keys:
        return spans, counts
    start = previous = keys[0]
    span_start_offset = start
    for key in keys:
        gap = key - previous - 1
        if gap > MAX_GAP_IN_SPAN:
            spans.append((span_start_offset, previous - start + 1))
            span_start_offset, start = gap, key
        elif gap > 0:
            counts.extend([0] * gap)
        counts.append(buckets[key])
        previous = key
    spans.append((span_start_offset, previous - start + 1))
    return spans, [counts[0], *map(sub, counts[1:], counts[:-1])]


def merged_positive(first_key: int, dense: Sequence[int], sparse: dict[int, int]) -> dict[int, int]:
    """Positive buckets from dense counts (keys from `first_key` on) and sparse ones: the
    nonzero dense counts are picked in C calls (a scrape does this for 500 series)."""
    keys = range(first_key, first_key + len(dense))
    merged = dict(zip(compress(keys, dense), compress(dense, dense), strict=True))
    add_into(merged, sparse.items())
    return merged


class NativeSnapshot(NamedTuple):
    """A histogram's native buckets as copied at scrape time: sparse positive buckets, and
    for request series the dense counts too (merged only when a format needs them)."""

    schema: int
    sparse: dict[int, int]
    negative: dict[int, int]
    zeros: int
    dense: Sequence[int] = ()
    first_key: int = 0

    @property
    def count(self) -> int:
        return (
            self.zeros + sum(self.dense) + sum(self.sparse.values()) + sum(self.negative.values())
        )

    @property
    def positive(self) -> dict[int, int]:
        return merged_positive(self.first_key, self.dense, self.sparse)


class NativeBuckets:
    """Sparse native buckets of plain values (positive, negative and zero), for histograms
    off the request hot path. Request series keep theirs inline (see `store`)."""

    __slots__ = ("negative", "positive", "scale", "schema", "zeros")

    def __init__(self, schema: int) -> None:
        self.schema = schema
        self.scale = 2.0**schema
        self.positive: dict[int, int] = {}
        self.negative: dict[int, int] = {}
        self.zeros = 0

    def observe(self, value: float) -> None:
        """A finite value (the caller keeps others out: they have no bucket)."""
        if value > ZERO_THRESHOLD:
            key = index(value, self.scale)
            self.positive[key] = self.positive.get(key, 0) + 1
        elif value < -ZERO_THRESHOLD:
            key = index(-value, self.scale)
            self.negative[key] = self.negative.get(key, 0) + 1
        else:
            self.zeros += 1

    def add(self, schema: int, positive, negative, zeros: int) -> None:
        """Add buckets kept at `schema` (lists of (index, count) pairs, as on the wire)."""
        if schema < self.schema:
            self.reduce_to(schema)
        by = self.schema - schema if schema > self.schema else 0
        add_into(self.positive, downscaled(positive, by).items() if by else positive)
        add_into(self.negative, downscaled(negative, by).items() if by else negative)
        self.zeros += zeros

    def reduce_to(self, schema: int) -> None:
        by = self.schema - schema
        for buckets in (self.positive, self.negative):
            merged = downscaled(buckets.items(), by)
            buckets.clear()
            buckets.update(merged)
        self.schema, self.scale = schema, 2.0**schema

    def wire(self) -> list:
        return [self.schema, list(self.positive.items()), list(self.negative.items()), self.zeros]
