"""Copies of what the event loop keeps changing, taken from the scrape's thread: a dict's items,
a histogram whose classic and native buckets agree."""

from __future__ import annotations

from service.metrics.native import NativeSnapshot
from service.metrics.series import RequestSeries, ValueSeries


def stable_items(mapping: dict) -> list:
    """A snapshot of a dict that another thread may be changing (the scrape runs on one)."""
    while True:
        try:
            return list(mapping.items())
        except RuntimeError:  # changed size while being copied: try again
            continue


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
