"""The families every instrumented process has, for the process serving /metrics:
`process_*` (CPU seconds, memory, open fds, start time), `python_info` and `python_gc_*`, from
prometheus_client's own collectors, converted to this exporter's families."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.metrics_core import Metric

from service.metrics.exposition.family import Family

_KINDS = {"counter", "gauge", "info"}


def _family(metric: Metric) -> Family | None:
    if metric.type not in _KINDS:  # these collectors make no others
        return None
    samples = [s for s in metric.samples if not s.name.endswith("_created")]
    label_names = tuple(samples[0].labels) if samples else ()
    family = Family(metric.name, metric.type, metric.documentation, label_names)
    for sample in samples:
        family.add(tuple(sample.labels.get(name, "") for name in label_names), sample.value)
    return family


class ProcessFamilies:
    """Scrape-time source of the standard families (a private registry: nothing global)."""

    def __init__(self) -> None:
        self._registry = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self._registry)
        PlatformCollector(registry=self._registry)
        GCCollector(registry=self._registry)

    def __call__(self) -> Iterator[Family]:
        for metric in self._registry.collect():
            family = _family(metric)
            if family is not None:
                yield family
