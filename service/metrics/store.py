"""The metric store: what every request adds to, what workers ship, what the master merges.

`record_request` is on Locust's hot path: a few dictionary operations and arithmetic, no
formatting, no locks. Everything else (labels, cumulative buckets, text) happens at scrape time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from math import ceil, isfinite, log2
from typing import Any

from service.metrics import wire
from service.metrics.buckets import CUSTOM_LAYOUT, THREATS_LAYOUT, Layout, latency_layout
from service.metrics.cardinality import OVERFLOW, Budget
from service.metrics.failure_reasons import FailureReasons
from service.metrics.native import (
    NativeBuckets,
    NativeSnapshot,
    index,
    schema_for,
)

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
# request_type values that are not requests: the seed's custom values and system samples.
PSEUDO_REQUEST_TYPES = frozenset({"CUSTOM", "SYSTEM"})
THREATS_FOUND = "threats_found"


@dataclass(frozen=True)
class StoreLimits:
    max_series: int = 500
    max_reasons: int = 50
    max_custom: int = 50
    quantile_error: float = 0.05


class RequestSeries:
    """Counters of one (method, name): latency buckets (classic and native), totals, status
    codes, failure reasons.

    Native buckets are kept in two parts: `dense`, counts of the native keys from `first_key`
    on, which the hot path increments by index (a list is cheaper than a dict there), and
    `native`, the sparse rest (times outside that range, and whatever a master merges)."""

    __slots__ = (
        "bytes", "codes", "counts", "dense", "failures", "first_key", "method", "name", "native",
        "reasons", "sum_ms",
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

    __slots__ = ("bounds", "counts", "native", "sum")

    def __init__(self, layout: Layout, schema: int = DEFAULT_SCHEMA) -> None:
        self.bounds = layout.bounds
        self.counts = [0] * (len(layout.bounds) + 1)
        self.native = NativeBuckets(schema)
        self.sum = 0.0

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


def encodable(label: str) -> str:
    """A label that encodes as UTF-8: lone surrogates (from bytes decoded with
    surrogateescape) are written as escapes instead of failing in every writer downstream."""
    try:
        label.encode("utf-8")
        return label
    except UnicodeEncodeError:
        return label.encode("utf-8", "backslashreplace").decode("utf-8")


def stable_items(mapping: dict) -> list:
    """A snapshot of a dict that another thread may be changing (the scrape runs on one)."""
    while True:
        try:
            return list(mapping.items())
        except RuntimeError:  # changed size while being copied: try again
            continue


def classic_from_native(bounds_ms: list[float], schema: int) -> tuple[int, list[int]]:
    """(first key, table): for each native bucket key from the first key on, the first classic
    bucket (index into `bounds_ms`) that a time in that native bucket can fall in. The table
    spans the native buckets from below the lowest classic bound to past the highest."""
    scale = 2.0**schema
    first = index(bounds_ms[0] / 1000.0 / 2, scale)
    last = index(bounds_ms[-1] / 1000.0 * 2, scale)
    # A native bucket's lower edge, a hair low so that float error never skips a bucket.
    return first, [
        bisect_left(bounds_ms, 1000.0 * 2.0 ** ((key - 1) / scale) * (1 - 1e-9))
        for key in range(first, last + 1)
    ]


def histogram_copy(series: RequestSeries | ValueSeries) -> tuple[list[int], NativeSnapshot]:
    """A series' classic counts and native buckets, copied so that they agree: the loop may
    record between the copy of one and of the other, so copy again until their totals match."""
    for _attempt in range(5):
        # Each copy is one C call, which another thread cannot interleave with.
        counts = list(series.counts)
        snapshot = series.native_snapshot()
        if sum(counts) == snapshot.count:
            break
    return counts, snapshot


class MetricStore:
    def __init__(self, limits: StoreLimits | None = None) -> None:
        self.limits = limits or StoreLimits()
        self.layout = latency_layout(self.limits.quantile_error)
        self.schema = schema_for(self.limits.quantile_error)
        # Locust times in milliseconds: bucket and sum in them, convert at scrape time.
        bounds_ms = [bound * 1000.0 for bound in self.layout.bounds]
        self._buckets = len(bounds_ms) + 1
        self._first_key, first_classic = classic_from_native(bounds_ms, self.schema)
        self._keys = len(first_classic)
        # What the hot path reads, in one attribute: fewer lookups per request. Request
        # series are recorded at the store's schema (only a master, which records none, may
        # lower a series' schema to merge a coarser worker's buckets); the +Inf sentinel ends
        # the scan from a native bucket's first classic bucket.
        self._lookup = (
            2.0**self.schema, self._first_key, self._keys, first_classic,
            [*bounds_ms, float("inf")],
        )  # fmt: skip
        self._start_over()

    def _start_over(self) -> None:
        """Empty series and budgets: a new store, and a worker's after each drain."""
        self.series_budget = Budget("request", self.limits.max_series)
        self.custom_budget = Budget("custom", self.limits.max_custom)
        self.reasons = FailureReasons(Budget("reason", self.limits.max_reasons))
        self.requests: dict[str, dict[str, RequestSeries]] = {}
        self.threats = ValueSeries(THREATS_LAYOUT, self.schema)
        self.custom: dict[str, ValueSeries] = {}
        self.errors = 0

    # -- the hot path -----------------------------------------------------------------

    def record_request(
        self,
        request_type: str,
        name: str,
        response_time: float | None,
        response_length: int | None,
        exception: BaseException | None,
        response: Any,
    ) -> RequestSeries | None:
        """One request, as Locust's `request` event reports it (see `request_tap`). Returns
        the series it counted in, whose labels Locust's own stats then use, so both stay
        equal and bounded; None for pseudo-requests. It never raises: an error here must not
        reach Locust, which would count it against the run."""
        try:
            try:
                series = self.requests[request_type][name]
            except KeyError:
                # Pseudo-requests never get a series, so they are only looked for here.
                if request_type in PSEUDO_REQUEST_TYPES:
                    if request_type == "CUSTOM":
                        self.record_value(name, response_length or 0)
                    return None
                series = self._series(request_type, name)
            if response_time is not None:
                if response_time > 0:
                    scale, first_key, keys, first_classic, bounds = self._lookup
                    # The native bucket of the time in seconds, arithmetic (see `native`), as
                    # an index from the first dense key (exact for powers of two)...
                    i = ceil(log2(response_time / 1000.0) * scale - first_key)
                    if 0 <= i < keys:
                        series.dense[i] += 1
                        # ...and the classic one from it: the first classic bucket the native
                        # one reaches, then at most a bound or two further.
                        bucket = first_classic[i]
                        while bounds[bucket] < response_time:
                            bucket += 1
                    else:  # beyond the table: a sparse native bucket, a bisection
                        positive = series.native.positive
                        key = i + first_key
                        positive[key] = positive.get(key, 0) + 1
                        bucket = bisect_left(bounds, response_time)
                    series.counts[bucket] += 1
                else:
                    series.native.zeros += 1
                    series.counts[0] += 1
                series.sum_ms += response_time
            if response_length:
                series.bytes += response_length
            status = (response.status_code or 0) if response is not None else 0
            codes = series.codes
            try:
                codes[status] += 1
            except KeyError:
                codes[status] = 1
            if exception is not None:
                series.failures += 1
                reason = self.reasons.classify(exception, status, response)
                reasons = series.reasons
                reasons[reason] = reasons.get(reason, 0) + 1
            return series
        except Exception:
            self.errors += 1
            return None

    def record_value(self, name: str, value: float) -> None:
        """A custom value: `threats_found` has its own family, others share one by name.
        A value that is not a finite number counts as an exporter error."""
        if name == THREATS_FOUND:
            series = self.threats
        else:
            series = self.custom.get(name) or self._custom(name)
        if not series.observe(value):
            self.errors += 1

    def each_series(self) -> Iterator[RequestSeries]:
        """Every request series, safe to walk from another thread (the scrape's): the one
        walk of the store that the collector, the probes and the activity log share."""
        for _method, by_name in stable_items(self.requests):
            for _name, series in stable_items(by_name):
                yield series

    def answered_requests(self) -> int:
        """Requests that got an HTTP response (any status): the target is there."""
        return sum(
            count
            for series in self.each_series()
            for status, count in stable_items(series.codes)
            if status
        )

    # -- new label values, within budget ------------------------------------------------

    def _series(self, method: str, name: str) -> RequestSeries:
        method, name = encodable(method), encodable(name)
        if method not in HTTP_METHODS and method not in self.requests:
            method = method if self.series_budget.admit() else OVERFLOW
        by_name = self.requests.setdefault(method, {})
        series = by_name.get(name)
        if series is not None:
            return series
        if not self.series_budget.admit():
            self.series_budget.fold()
            name = OVERFLOW
            series = by_name.get(OVERFLOW)
            if series is not None:
                return series
        series = by_name[name] = RequestSeries(
            self._buckets, self.schema, self._first_key, self._keys, method, name
        )
        return series

    def _custom(self, name: str) -> ValueSeries:
        if not self.custom_budget.admit():
            self.custom_budget.fold()
            name = OVERFLOW
            if name in self.custom:
                return self.custom[name]
        series = self.custom[name] = ValueSeries(CUSTOM_LAYOUT, self.schema)
        return series

    # -- worker -> master (the wire format is `wire`'s) ---------------------------------

    @property
    def budgets(self) -> tuple[Budget, Budget, Budget]:
        """The cardinality budgets, in the one order the collector and the wire use."""
        return (self.series_budget, self.reasons.budget, self.custom_budget)

    def drain(self) -> dict:
        """Everything recorded since the last drain, as plain data; the store starts over.

        Workers ship this inside Locust's own stats report, so it travels and is merged
        exactly when Locust's request stats are.
        """
        payload = wire.encode(self)
        self._start_over()
        return payload

    def merge(self, payload: dict) -> None:
        """Add a worker's drained payload (the master's side of `drain`)."""
        wire.merge_into(self, payload)

    def series(self, method: str, name: str) -> RequestSeries:
        """The series of (method, name), created within budget (the merge's way in)."""
        return self.requests.get(method, {}).get(name) or self._series(method, name)

    def custom_series(self, name: str) -> ValueSeries:
        """The custom value series of `name`, created within budget."""
        return self.custom.get(name) or self._custom(name)
