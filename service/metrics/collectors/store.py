"""The families of the metric store: requests, custom values, cardinality budgets."""

from __future__ import annotations

from collections.abc import Iterator

from service.metrics.buckets import CUSTOM_LAYOUT, THREATS_LAYOUT
from service.metrics.exposition.family import Family
from service.metrics.snapshot import histogram_copy, stable_items
from service.metrics.store import MetricStore

REQUEST = ("method", "name")


def request_families(store: MetricStore) -> Iterator[Family]:
    """The request families: latency histogram, counters, reasons, status codes, bytes."""
    duration = Family(
        "loadgen_request_duration_seconds",
        "histogram",
        "Response time of requests in seconds.",
        REQUEST,
        layout=store.layout,
    )
    requests = Family("loadgen_requests", "counter", "Requests made.", REQUEST)
    failures = Family("loadgen_request_failures", "counter", "Requests that failed.", REQUEST)
    reasons = Family(
        "loadgen_request_failure_reasons",
        "counter",
        "Failed requests by bounded reason: http_<status>, exception class, "
        "or the class of a catch_response message.",
        (*REQUEST, "reason"),
    )
    codes = Family(
        "loadgen_responses",
        "counter",
        "Responses by HTTP status code (0: no response).",
        (*REQUEST, "code"),
    )
    size = Family("loadgen_response_bytes", "counter", "Response body bytes received.", REQUEST)
    corrected = Family(
        "loadgen_request_corrected_duration_seconds",
        "histogram",
        "Open mode: response time plus the iteration's start delay, i.e. from its scheduled "
        "start (corrected for coordinated omission).",
        REQUEST,
        layout=store.layout,
    )
    for series in store.each_series():
        method, name = labels = (series.method, series.name)
        counts, native = histogram_copy(series)
        duration.add_histogram(labels, counts, series.sum_s, native, _copy(series.exemplars))
        requests.add(labels, series.requests)
        failures.add(labels, series.failures)
        size.add(labels, series.bytes)
        for status, count in stable_items(series.codes):
            codes.add((method, name, str(status)), count)
        for reason, count in stable_items(series.reasons):
            reasons.add((method, name, reason), count)
        if series.corrected is not None:
            counts, native = histogram_copy(series.corrected)
            corrected.add_histogram(
                labels, counts, series.corrected.sum, native, _copy(series.corrected.exemplars)
            )
    yield from (duration, requests, failures, reasons, codes, size)
    if store.arrivals is not None:
        yield corrected


def _copy(exemplars: list | None) -> list | None:
    return list(exemplars) if exemplars is not None else None  # one C call: thread-safe


def value_families(store: MetricStore) -> Iterator[Family]:
    """threats_found and the scenarios' custom values."""
    threats = store.threats
    found = Family(
        "loadgen_threats_found",
        "histogram",
        "Threats per /api/threats response (the seed's threats_found).",
        layout=THREATS_LAYOUT,
    )
    counts, native = histogram_copy(threats)
    found.add_histogram((), counts, threats.sum, native)
    seen = Family("loadgen_threats_seen", "counter", "Threats seen in all responses.")
    seen.add((), threats.sum)
    custom = Family(
        "loadgen_custom_value",
        "histogram",
        "Custom values recorded by scenarios, by name.",
        ("name",),
        layout=CUSTOM_LAYOUT,
    )
    for name, series in stable_items(store.custom):
        counts, native = histogram_copy(series)
        custom.add_histogram((name,), counts, series.sum, native)
    yield from (found, seen, custom)


def budget_families(store: MetricStore) -> Iterator[Family]:
    """Each cardinality budget: in use, its limit, what was folded."""
    used = Family("loadgen_series", "gauge", "Distinct label values in use, by kind.", ("kind",))
    limit = Family("loadgen_series_budget", "gauge", "Cardinality budget, by kind.", ("kind",))
    dropped = Family(
        "loadgen_series_dropped",
        "counter",
        "Observations folded into __other__ because the budget was full.",
        ("kind",),
    )
    for budget in store.budgets:
        used.add((budget.kind,), budget.used)
        limit.add((budget.kind,), budget.limit)
        dropped.add((budget.kind,), budget.folded)
    yield from (used, limit, dropped)
