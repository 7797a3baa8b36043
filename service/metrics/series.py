"""The series the metric store keeps: a request series (classic and native latency buckets,
totals, status codes, failure reasons) and a value series (a histogram of plain values)."""

from __future__ import annotations

from bisect import bisect_left
from math import isfinite

from service.metrics.buckets import Layout
from service.metrics.native import NativeBuckets, NativeSnapshot, schema_for


class RequestSeries:
    """Counters of one (method, name): latency buckets (classic and native), totals, status
    codes, failure reasons.

    Native buckets are kept in two parts: `dense`, counts of the native keys from `first_key`
    on, which the hot path increments by index (a list is cheaper than a dict there), and
    `native`, the sparse rest (times outside that range, and whatever a master merges)."""

    __slots__ = (
        "bytes", "codes", "corrected", "counts", "dense", "exemplars", "failures", "first_key",
        "method", "name", "native", "reasons", "sum_ms",
    )  # fmt: skip

    def __init__(
        self, buckets: int, schema: int, first_key: int, keys: int, method: str, name: str
    ) -> None:
        # The labels as exported (and as Locust's stats are fed): a name past the budget is
        # __other__, one that cannot be encoded is escaped.
        self.method = method
        self.name = name
        self.counts = [0] * buckets
        self.native = NativeBuckets(schema)
        self.first_key = first_key
        self.dense = [0] * keys
        self.sum_ms = 0.0
        self.failures = 0
        self.bytes = 0
        # Every request counts under exactly one status (0: no response), so the request
        # total is their sum, computed at scrape time instead of once more per request.
        self.codes: dict[int, int] = {}
        self.reasons: dict[str, int] = {}
        # Open mode: each request's time from its iteration's intended start (seconds).
        self.corrected: ValueSeries | None = None
        # The latest sampled request per classic bucket (`exemplars`), from the first one on.
        self.exemplars: list | None = None

    @property
    def requests(self) -> int:
        return sum(list(self.codes.values()))

    def native_snapshot(self) -> NativeSnapshot:
        """The native buckets, dense and sparse, copied (each copy one C call)."""
        native = self.native
        return NativeSnapshot(
            native.schema, dict(native.positive), dict(native.negative), native.zeros,
            list(self.dense), self.first_key,
        )  # fmt: skip

    def positive(self) -> dict[int, int]:
        """All positive native buckets, sparse."""
        return self.native_snapshot().positive

    def add_native(self, schema: int, positive, negative, zeros: int) -> None:
        """Add native buckets kept at `schema` (a worker's, on the wire)."""
        if schema < self.native.schema and any(self.dense):
            # Lowering the schema: the dense counts join the sparse ones first.
            self.native.positive.update(self.positive())
            self.dense = [0] * len(self.dense)
        self.native.add(schema, positive, negative, zeros)

    def native_wire(self) -> list:
        native = self.native
        return [native.schema, list(self.positive().items()), [], native.zeros]

    @property
    def sum_s(self) -> float:
        return self.sum_ms / 1000.0


# The native schema of the value histograms when nothing else is configured: within 5 %.
DEFAULT_SCHEMA = schema_for(0.05)


class ValueSeries:
    """A histogram of plain values (threats per response, custom values, loop lag)."""

    __slots__ = ("bounds", "counts", "exemplars", "native", "sum")

    def __init__(self, layout: Layout, schema: int = DEFAULT_SCHEMA) -> None:
        self.bounds = layout.bounds
        self.counts = [0] * (len(layout.bounds) + 1)
        self.native = NativeBuckets(schema)
        self.sum = 0.0
        self.exemplars: list | None = None  # the corrected durations' (`exemplars`)

    def observe(self, value: float) -> bool:
        """Count a value; False for NaN and infinities, which no native bucket holds (and
        which would make the sum meaningless)."""
        if not isfinite(value):
            return False
        self.counts[bisect_left(self.bounds, value)] += 1
        self.native.observe(value)
        self.sum += value
        return True

    def wire(self) -> list:
        return [self.counts, self.sum, self.native.wire()]

    def native_snapshot(self) -> NativeSnapshot:
        native = self.native
        return NativeSnapshot(
            native.schema, dict(native.positive), dict(native.negative), native.zeros
        )

    def add(self, counts: list[int], total: float, native: list) -> None:
        """Add another series' `wire()` content."""
        mine = self.counts
        for i, count in enumerate(counts):
            mine[i] += count
        self.sum += total
        self.native.add(*native)
