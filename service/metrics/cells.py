"""Latency cells: the partition of response times that both bucket layouts are made of.

The classic bounds and the native bucket edges, merged and sorted, cut the times between half
the lowest classic bound and twice the highest into cells; each cell lies inside one classic
bucket and one native bucket. A request then costs one increment (its cell), and both
histograms are exact sums of cells, made at scrape time. The hot path finds the cell from the
native key, which is arithmetic (see `native`): the first cell of that native bucket, then a
step or two past the classic bounds inside it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from itertools import accumulate, compress

from service.metrics.native import index


class Cells:
    """The cell layout of one (classic layout, native schema) pair, times in milliseconds."""

    def __init__(self, bounds_ms: Sequence[float], schema: int) -> None:
        scale = 2.0**schema
        self.first_key = index(bounds_ms[0] / 1000.0 / 2, scale)
        last_key = index(bounds_ms[-1] / 1000.0 * 2, scale)
        self.keys = last_key - self.first_key + 1

        def edge(key: int) -> float:  # upper edge of native bucket `key`, in ms
            return 1000.0 * 2.0 ** (key / scale)

        low, high = edge(self.first_key - 1), edge(last_key)
        inside = [bound for bound in bounds_ms if low < bound < high]
        edges = sorted({*(edge(k) for k in range(self.first_key, last_key + 1)), *inside})
        # Each cell's upper bound, then a sentinel cell for float slop past the last edge.
        self.upper = [*edges, float("inf")]
        # The native bucket (index from `first_key`) each cell lies in.
        native_of = []
        key = self.first_key
        for upper in edges:
            while upper > edge(key) * (1 + 1e-12):
                key += 1
            native_of.append(key - self.first_key)
        self.native_of = [*native_of, self.keys - 1]
        # The first cell of each native bucket (a hair low: float error never skips one).
        self.first_cell = [
            bisect_left(edges, edge(key - 1) * (1 + 1e-12))
            for key in range(self.first_key, last_key + 1)
        ]
        # The cells of each classic bucket (the last one, +Inf, takes the sentinel too).
        self.classic_ranges = []
        start = 0
        for bound in [*bounds_ms, float("inf")]:
            end = len(self.upper) if bound == float("inf") else bisect_left(self.upper, bound) + 1
            end = max(start, min(end, len(self.upper)))
            self.classic_ranges.append((start, end))
            start = end

    def classic(self, cells: list[int]) -> list[int]:
        """Counts per classic bucket (the last is +Inf)."""
        cumulative = [0, *accumulate(cells)]
        return [cumulative[end] - cumulative[start] for start, end in self.classic_ranges]

    def native(self, cells: list[int]) -> dict[int, int]:
        """Counts per native key, of the cells that counted anything."""
        buckets: dict[int, int] = {}
        first, native_of = self.first_key, self.native_of
        for cell in compress(range(len(cells)), cells):
            key = first + native_of[cell]
            buckets[key] = buckets.get(key, 0) + cells[cell]
        return buckets
