"""The metric store: what every request adds to, what workers ship, what the master merges.

`record_request` is on Locust's hot path: a few dictionary operations and arithmetic, no
formatting, no locks. Everything else (labels, cumulative buckets, text) happens at scrape time.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from math import ceil, log2
from typing import Any

from service.logs.pipeline import scrub
from service.metrics import exemplars, wire
from service.metrics.buckets import CUSTOM_LAYOUT, THREATS_LAYOUT, latency_layout
from service.metrics.cardinality import OVERFLOW, Budget
from service.metrics.failure_reasons import FailureReasons
from service.metrics.native import index, schema_for
from service.metrics.series import RequestSeries, ValueSeries
from service.metrics.snapshot import stable_items
from service.open_model.accounts import ArrivalAccounts

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
# request_type values that are not requests: the seed's custom values and system samples.
PSEUDO_REQUEST_TYPES = frozenset({"CUSTOM", "SYSTEM"})
THREATS_FOUND = "threats_found"
MAX_USER_ERROR_KINDS = 100  # (user class, exception class) pairs; more fold into __other__


@dataclass(frozen=True)
class StoreLimits:
    max_series: int = 500
    max_reasons: int = 50
    max_custom: int = 50
    quantile_error: float = 0.05


def encodable(label: str) -> str:
    """A label that encodes as UTF-8: lone surrogates (from bytes decoded with
    surrogateescape) are written as escapes instead of failing in every writer downstream."""
    try:
        label.encode("utf-8")
        return label
    except UnicodeEncodeError:
        return label.encode("utf-8", "backslashreplace").decode("utf-8")


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
        # Open mode only (`enable_arrivals`): the arrivals' accounts.
        self.arrivals: ArrivalAccounts | None = None
        self._start_over()

    def enable_arrivals(self) -> ArrivalAccounts:
        if self.arrivals is None:
            self.arrivals = ArrivalAccounts(self.layout, self.schema)
        return self.arrivals

    def _start_over(self) -> None:
        """Empty series and budgets: a new store, and a worker's after each drain."""
        self.series_budget = Budget("request", self.limits.max_series)
        self.custom_budget = Budget("custom", self.limits.max_custom)
        self.reasons = FailureReasons(Budget("reason", self.limits.max_reasons))
        self.requests: dict[str, dict[str, RequestSeries]] = {}
        self.threats = ValueSeries(THREATS_LAYOUT, self.schema)
        self.custom: dict[str, ValueSeries] = {}
        self.errors = 0
        # Exceptions raised in users' code, by (user class, exception class).
        self.user_errors: dict[tuple[str, str], int] = {}

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

    def record_exemplar(
        self, series: RequestSeries, trace_id: str, response_time: Any, delay_s: float | None
    ) -> None:
        """A sampled request's trace id, as the exemplar of its latency bucket (and, in open
        mode, of its corrected duration's, `delay_s` later). Off the hot path: a few in a
        hundred requests are sampled."""
        if response_time is None:
            return
        at = time.time()
        value = response_time / 1000.0
        bounds = self.layout.bounds
        series.exemplars = exemplars.kept(series.exemplars, bounds, trace_id, value, at)
        corrected = series.corrected
        if delay_s is not None and corrected is not None:
            corrected.exemplars = exemplars.kept(
                corrected.exemplars, bounds, trace_id, value + delay_s, at
            )

    def record_value(self, name: str, value: float) -> None:
        """A custom value: `threats_found` has its own family, others share one by name.
        A value that is not a finite number counts as an exporter error."""
        if name == THREATS_FOUND:
            series = self.threats
        else:
            series = self.custom.get(name) or self._custom(name)
        if not series.observe(value):
            self.errors += 1

    def record_user_error(self, user_class: str, exception: str, count: int = 1) -> None:
        """An exception out of a user's code (a task, on_start, wait_time): counted by its
        user class and exception class, at most MAX_USER_ERROR_KINDS of them (the rest as
        __other__)."""
        key = (user_class, exception)
        if key not in self.user_errors and len(self.user_errors) >= MAX_USER_ERROR_KINDS:
            key = (OVERFLOW, OVERFLOW)
        self.user_errors[key] = self.user_errors.get(key, 0) + count

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
        # A secret in a name (a key in a URL's query) would become a label and a report row.
        method, name = encodable(method), scrub(encodable(name))
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
        name = scrub(name)
        if name in self.custom:  # a name that held a secret: its scrubbed series
            return self.custom[name]
        if not self.custom_budget.admit():
            self.custom_budget.fold()
            name = OVERFLOW
            if name in self.custom:
                return self.custom[name]
        series = self.custom[name] = ValueSeries(CUSTOM_LAYOUT, self.schema)
        return series

    # -- worker -> master (the format is `wire`'s) ----------------------------------------

    @property
    def budgets(self) -> tuple[Budget, Budget, Budget]:
        """The cardinality budgets, in the one order the collector and the wire use."""
        return (self.series_budget, self.reasons.budget, self.custom_budget)

    def drain(self) -> dict:
        """Everything recorded since the last drain, as plain data; the store starts over.

        Workers ship this inside Locust's own stats report, so it travels and is merged
        exactly when Locust's request stats are.
        """
        payload = wire.encode(
            quantile_error=self.limits.quantile_error,
            requests=[
                wire.RequestRow(
                    method, name, s.counts, s.sum_ms, s.failures, s.bytes,
                    list(s.codes.items()), list(s.reasons.items()), s.native_wire(),
                    s.corrected.wire() if s.corrected is not None else None,
                )
                for method, by_name in self.requests.items()
                for name, s in by_name.items()
            ],
            threats=self.threats.wire(),
            custom=[[name, *s.wire()] for name, s in self.custom.items()],
            folded=[budget.folded for budget in self.budgets],
            errors=self.errors,
            user_errors=[[*key, count] for key, count in self.user_errors.items()],
            arrivals=self.arrivals.drain() if self.arrivals is not None else None,
            exemplars=[
                [s.method, s.name, family, *exemplar]
                for s in self.each_series()
                for family, held in ((0, s.exemplars), (1, s.corrected and s.corrected.exemplars))
                for exemplar in exemplars.present(held)
            ],
        )  # fmt: skip
        self._start_over()
        return payload

    def merge(self, payload: dict) -> None:
        """Add a worker's drained payload (the master's side of `drain`)."""
        received = wire.decode(payload, self.limits.quantile_error, self.layout)
        for row in received.requests:
            series = self.series(row.method, row.name)
            mine = series.counts
            for i, count in enumerate(row.counts):
                if count:
                    mine[i] += count
            series.sum_ms += row.sum_ms
            series.failures += row.failures
            series.bytes += row.bytes
            for status, count in row.codes:
                series.codes[status] = series.codes.get(status, 0) + count
            for reason, count in row.reasons:
                reason = self.reasons.admit(reason)
                series.reasons[reason] = series.reasons.get(reason, 0) + count
            series.add_native(*row.native)
            if row.corrected is not None:
                self.corrected_series(series).add(*row.corrected)
        self.threats.add(*received.threats)
        for name, *content in received.custom:
            self.custom_series(name).add(*content)
        for budget, folded in zip(self.budgets, received.folded, strict=True):
            if folded:
                budget.fold(folded)
        self.errors += received.errors
        for user_class, exception, count in received.user_errors:
            self.record_user_error(user_class, exception, count)
        if received.arrivals is not None:
            self.enable_arrivals().add(received.arrivals)
        bounds = self.layout.bounds
        for method, name, family, trace_id, value, at in received.exemplars:
            series = self.series(method, name)
            if family:
                held = self.corrected_series(series)
                held.exemplars = exemplars.kept(held.exemplars, bounds, trace_id, value, at)
            else:
                series.exemplars = exemplars.kept(series.exemplars, bounds, trace_id, value, at)

    def series(self, method: str, name: str) -> RequestSeries:
        """The series of (method, name), created within budget (the merge's way in)."""
        return self.requests.get(method, {}).get(name) or self._series(method, name)

    def corrected_series(self, series: RequestSeries) -> ValueSeries:
        """The corrected durations of a request series, created on first use."""
        if series.corrected is None:
            series.corrected = ValueSeries(self.layout, self.schema)
        return series.corrected

    def custom_series(self, name: str) -> ValueSeries:
        """The custom value series of `name`, created within budget."""
        return self.custom.get(name) or self._custom(name)
