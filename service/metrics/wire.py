"""The worker -> master wire format of the metric store: what a worker ships inside Locust's
own stats report and the master adds up. Each request series travels as one `RequestRow`, the
one place its layout is written."""

from __future__ import annotations

from bisect import bisect_left
from typing import TYPE_CHECKING, NamedTuple

from service.metrics.buckets import Layout, latency_layout

if TYPE_CHECKING:
    from service.metrics.store import MetricStore

PAYLOAD_VERSION = 3


class RequestRow(NamedTuple):
    """One request series on the wire (msgpack sends it as a list, in this order)."""

    method: str
    name: str
    counts: list[int]
    sum_ms: float
    failures: int
    bytes: int
    codes: list[tuple[int, int]]
    reasons: list[tuple[str, int]]
    native: list  # NativeBuckets.wire(): schema, positive and negative buckets, zeros


def encode(store: MetricStore) -> dict:
    """The store's content as plain data."""
    return {
        "v": PAYLOAD_VERSION,
        "quantile_error": store.limits.quantile_error,
        "requests": [
            RequestRow(
                method, name, s.counts, s.sum_ms, s.failures, s.bytes,
                list(s.codes.items()), list(s.reasons.items()), s.native_wire(),
            )
            for method, by_name in store.requests.items()
            for name, s in by_name.items()
        ],
        "threats": store.threats.wire(),
        "custom": [[name, *s.wire()] for name, s in store.custom.items()],
        "folded": [budget.folded for budget in store.budgets],
        "errors": store.errors,
    }  # fmt: skip


def merge_into(store: MetricStore, payload: dict) -> None:
    """Add a worker's payload to the master's store."""
    if payload.get("v") != PAYLOAD_VERSION:
        raise ValueError(f"worker payload version {payload.get('v')}, expected {PAYLOAD_VERSION}")
    remap = None
    if payload.get("quantile_error") != store.limits.quantile_error:
        remap = _bucket_remap(latency_layout(payload["quantile_error"]), store.layout)
    for row in map(RequestRow._make, payload["requests"]):
        series = store.series(row.method, row.name)
        mine = series.counts
        for i, count in enumerate(row.counts):
            if count:
                mine[remap[i] if remap else i] += count
        series.sum_ms += row.sum_ms
        series.failures += row.failures
        series.bytes += row.bytes
        for status, count in row.codes:
            series.codes[status] = series.codes.get(status, 0) + count
        for reason, count in row.reasons:
            reason = store.reasons.admit(reason)
            series.reasons[reason] = series.reasons.get(reason, 0) + count
        series.add_native(*row.native)
    store.threats.add(*payload["threats"])
    for name, *content in payload["custom"]:
        store.custom_series(name).add(*content)
    for budget, folded in zip(store.budgets, payload["folded"], strict=True):
        if folded:
            budget.fold(folded)
    store.errors += payload["errors"]


def _bucket_remap(source: Layout, target: Layout) -> list[int]:
    """For workers configured with another layout: each source bucket to the target bucket
    holding its upper bound (exact when the layouts agree, conservative otherwise)."""
    return [bisect_left(target.bounds, bound) for bound in source.bounds] + [len(target.bounds)]
