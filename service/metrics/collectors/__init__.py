"""The collector: every `loadgen_*` family, computed at scrape time from existing state, one
module per concern (`store`: requests, values, budgets; `generator`: process health; `runner`:
users and workers; `exporter`: what runs and the exporter's own figures; `process`: the
standard process_* and python_* families).

It runs on the scrape thread and only reads: each mutable container is copied in one step
(`stable_items`, `list(...)`) before it is walked, so a histogram's buckets and count agree.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from service.metrics.collectors.exporter import ExporterInfo, exporter_families
from service.metrics.collectors.generator import generator_families
from service.metrics.collectors.process import ProcessFamilies
from service.metrics.collectors.runner import runner_families
from service.metrics.collectors.store import budget_families, request_families, value_families
from service.metrics.exposition.family import Family
from service.metrics.store import MetricStore
from service.monitor.health import ProcessHealth, WorkersHealth

__all__ = ["ExporterInfo", "LoadgenCollector", "request_families"]


class LoadgenCollector:
    def __init__(
        self,
        store: MetricStore,
        environment: Any,
        info: ExporterInfo,
        local_health: ProcessHealth,
        workers_health: WorkersHealth,
    ) -> None:
        self.store = store
        self.environment = environment
        self.info = info
        self.local_health = local_health
        self.workers_health = workers_health
        # Further families computed at scrape time by other parts (the target's build).
        self.sources: list[Callable[[], Iterable[Family]]] = []
        self.process_families = ProcessFamilies()
        self.last_scrape_s = 0.0

    def collect(self) -> Iterator[Family]:
        started = time.perf_counter()
        yield from request_families(self.store)
        yield from value_families(self.store)
        yield from budget_families(self.store)
        yield from generator_families(
            self.environment, self.info.mode, self.local_health, self.workers_health
        )
        yield from runner_families(self.environment, self.info.mode)
        yield from exporter_families(self.info, self.store, self.last_scrape_s)
        yield from self.process_families()
        for source in self.sources:
            yield from source()
        self.last_scrape_s = time.perf_counter() - started
