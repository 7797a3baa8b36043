"""The worker -> master wire format of the metric store: what a worker ships inside Locust's
own stats report and the master adds up, as plain data. Each request series travels as one
`RequestRow`, the one place its layout is written; `decode` gives the master rows in its own
bucket layout."""

from __future__ import annotations

from bisect import bisect_left
from typing import NamedTuple

from service.metrics.buckets import Layout, latency_layout

PAYLOAD_VERSION = 6


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
    corrected: list | None  # open mode: ValueSeries.wire() of the corrected durations


class Payload(NamedTuple):
    """A worker's payload as the master adds it up."""

    requests: list[RequestRow]
    threats: list  # ValueSeries.wire()
    custom: list  # [name, *ValueSeries.wire()]
    folded: list[int]  # per cardinality budget, in the store's order
    errors: int
    user_errors: list  # [user class, exception class, count]
    arrivals: list | None  # open mode: ArrivalAccounts.drain()
    # [method, name, 0 (measured) or 1 (corrected), trace id, seconds, Unix time]: at most
    # one per bucket of a series per report
    exemplars: list


def encode(
    *,
    quantile_error: float,
    requests: list[RequestRow],
    threats: list,
    custom: list,
    folded: list[int],
    errors: int,
    user_errors: list,
    arrivals: list | None,
    exemplars: list,
) -> dict:
    """A drained store's content, as the dict that travels."""
    return {
        "v": PAYLOAD_VERSION,
        "quantile_error": quantile_error,
        "requests": requests,
        "threats": threats,
        "custom": custom,
        "folded": folded,
        "errors": errors,
        "user_errors": user_errors,
        "arrivals": arrivals,
        "exemplars": exemplars,
    }


def decode(payload: dict, quantile_error: float, layout: Layout) -> Payload:
    """A worker's payload, its classic buckets in `layout`, the master's (made for
    `quantile_error`)."""
    if payload.get("v") != PAYLOAD_VERSION:
        raise ValueError(f"worker payload version {payload.get('v')}, expected {PAYLOAD_VERSION}")
    rows = list(map(RequestRow._make, payload["requests"]))
    if payload.get("quantile_error") != quantile_error:
        remap = _bucket_remap(latency_layout(payload["quantile_error"]), layout)
        rows = [
            row._replace(
                counts=_remapped(row.counts, remap, layout),
                corrected=row.corrected
                and [_remapped(row.corrected[0], remap, layout), *row.corrected[1:]],
            )
            for row in rows
        ]
    return Payload(
        rows, payload["threats"], payload["custom"], payload["folded"], payload["errors"],
        payload["user_errors"], payload["arrivals"], payload["exemplars"],
    )  # fmt: skip


def _remapped(counts: list[int], remap: list[int], layout: Layout) -> list[int]:
    mine = [0] * (len(layout.bounds) + 1)
    for i, count in enumerate(counts):
        mine[remap[i]] += count
    return mine


def _bucket_remap(source: Layout, target: Layout) -> list[int]:
    """For workers configured with another layout: each source bucket to the target bucket
    holding its upper bound (exact when the layouts agree, conservative otherwise)."""
    return [bisect_left(target.bounds, bound) for bound in source.bounds] + [len(target.bounds)]
