"""Exemplars of the latency histograms: per classic bucket of a series, the most recent
sampled request in it, as (trace id, seconds, Unix time). Sampled requests are a few in a
hundred, so this is off the hot path; a series holds at most one per bucket."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

Exemplar = tuple[str, float, float]  # trace id, value in seconds, Unix time


def kept(
    slots: list[Exemplar | None] | None,
    bounds: Sequence[float],
    trace_id: str,
    value_s: float,
    at: float,
) -> list[Exemplar | None]:
    """`slots` (created on the first exemplar) with this one in its bucket, unless the bucket
    holds a newer one (a worker's report can arrive after the master's own)."""
    if slots is None:
        slots = [None] * (len(bounds) + 1)
    bucket = bisect_left(bounds, value_s)
    held = slots[bucket]
    if held is None or held[2] <= at:
        slots[bucket] = (trace_id, value_s, at)
    return slots


def present(slots: list[Exemplar | None] | None) -> list[Exemplar]:
    """The exemplars held, lowest bucket first."""
    return [exemplar for exemplar in slots or () if exemplar is not None]
