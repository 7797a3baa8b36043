"""A metric family as the collectors build it at scrape time, independent of the format."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from service.metrics.buckets import Layout
from service.metrics.native import NativeSnapshot


class HistogramSample(NamedTuple):
    values: Sequence[str]
    counts: list[int]  # per classic bucket, not cumulative, the last one +Inf
    total: float
    native: NativeSnapshot | None = None
    # per classic bucket: the latest sampled request in it, (trace id, seconds, Unix time)
    exemplars: list | None = None


@dataclass
class Family:
    """One metric family. `kind`: counter, gauge, histogram or info. Counters and infos are
    named without their `_total`/`_info` suffix, as OpenMetrics names them."""

    name: str
    kind: str
    help: str
    label_names: tuple[str, ...] = ()
    # counter/gauge/info: (label values, value); histogram: HistogramSample
    samples: list[tuple] = field(default_factory=list)
    # histograms: the classic buckets' upper bounds and `le` labels
    layout: Layout | None = None

    def add(self, values: Sequence[str], value: float) -> None:
        self.samples.append((values, value))

    def add_histogram(
        self,
        values: Sequence[str],
        counts: list[int],
        total: float,
        native: NativeSnapshot | None = None,
        exemplars: list | None = None,
    ) -> None:
        self.samples.append(HistogramSample(values, counts, total, native, exemplars))

    @property
    def sample_name(self) -> str:
        """The name of its samples (and of the family in the text and protobuf formats)."""
        return {"counter": f"{self.name}_total", "info": f"{self.name}_info"}.get(
            self.kind, self.name
        )
