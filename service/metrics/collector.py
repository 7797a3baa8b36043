"""The collector: every `loadgen_*` family, computed at scrape time from existing state.

It runs on the scrape thread and only reads: each mutable container is copied in one step
(`stable_items`, `list(...)`) before it is walked, so a histogram's buckets and count agree.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import locust
from locust.runners import (
    STATE_CLEANUP,
    STATE_INIT,
    STATE_MISSING,
    STATE_RUNNING,
    STATE_SPAWNING,
    STATE_STOPPED,
    STATE_STOPPING,
    MasterRunner,
)

from service.metrics.buckets import CUSTOM_LAYOUT, LAG_LAYOUT, THREATS_LAYOUT
from service.metrics.exposition import Family
from service.metrics.store import MetricStore, stable_items
from service.monitor.health import ProcessHealth

RUNNER_STATES = (
    STATE_INIT,
    STATE_SPAWNING,
    STATE_RUNNING,
    STATE_CLEANUP,
    STATE_STOPPING,
    STATE_STOPPED,
    STATE_MISSING,
)
WORKER_STATES = (STATE_INIT, STATE_SPAWNING, STATE_RUNNING, STATE_STOPPED, STATE_MISSING)
REQUEST = ("method", "name")
WORKER = ("worker",)


@dataclass(frozen=True)
class ExporterInfo:
    version: str
    locustfile: str
    scenario: str
    mode: str  # standalone or master


def request_families(store: MetricStore) -> Iterator[Family]:
    """The request families: latency histogram, counters, reasons, status codes, bytes."""
    duration = Family(
        "loadgen_request_duration_seconds",
        "histogram",
        "Response time of requests in seconds.",
        REQUEST,
        le_labels=store.layout.labels,
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
    for method, by_name in stable_items(store.requests):
        for name, series in stable_items(by_name):
            labels = (method, name)
            duration.add_histogram(labels, list(series.counts), series.sum_s)
            requests.add(labels, series.requests)
            failures.add(labels, series.failures)
            size.add(labels, series.bytes)
            for status, count in stable_items(series.codes):
                codes.add((method, name, str(status)), count)
            for reason, count in stable_items(series.reasons):
                reasons.add((method, name, reason), count)
    yield from (duration, requests, failures, reasons, codes, size)


class LoadgenCollector:
    def __init__(
        self,
        store: MetricStore,
        environment: Any,
        info: ExporterInfo,
        local_health: ProcessHealth,
        worker_health: dict[str, ProcessHealth],
    ) -> None:
        self.store = store
        self.environment = environment
        self.info = info
        self.local_health = local_health
        self.worker_health = worker_health
        # Further families computed at scrape time by other parts (the target's build).
        self.sources: list[Callable[[], Iterable[Family]]] = []
        self.last_scrape_s = 0.0

    def collect(self) -> Iterator[Family]:
        started = time.perf_counter()
        yield from request_families(self.store)
        yield from self._custom_values()
        yield from self._budgets()
        yield from self._generator_health()
        yield from self._runner()
        yield from self._self_metrics()
        for source in self.sources:
            yield from source()
        self.last_scrape_s = time.perf_counter() - started

    def _custom_values(self) -> Iterator[Family]:
        threats = self.store.threats
        found = Family(
            "loadgen_threats_found",
            "histogram",
            "Threats per /api/threats response (the seed's threats_found).",
            le_labels=THREATS_LAYOUT.labels,
        )
        found.add_histogram((), list(threats.counts), threats.sum)
        seen = Family("loadgen_threats_seen", "counter", "Threats seen in all responses.")
        seen.add((), threats.sum)
        custom = Family(
            "loadgen_custom_value",
            "histogram",
            "Custom values recorded by scenarios, by name.",
            ("name",),
            le_labels=CUSTOM_LAYOUT.labels,
        )
        for name, series in stable_items(self.store.custom):
            custom.add_histogram((name,), list(series.counts), series.sum)
        yield from (found, seen, custom)

    def _budgets(self) -> Iterator[Family]:
        used = Family(
            "loadgen_series", "gauge", "Distinct label values in use, by kind.", ("kind",)
        )
        limit = Family("loadgen_series_budget", "gauge", "Cardinality budget, by kind.", ("kind",))
        dropped = Family(
            "loadgen_series_dropped",
            "counter",
            "Observations folded into __other__ because the budget was full.",
            ("kind",),
        )
        for budget in (
            self.store.series_budget,
            self.store.reasons.budget,
            self.store.custom_budget,
        ):
            used.add((budget.kind,), budget.used)
            limit.add((budget.kind,), budget.limit)
            dropped.add((budget.kind,), budget.folded)
        yield from (used, limit, dropped)

    def _processes(self) -> list[tuple[str, float, int, bool, ProcessHealth | None]]:
        """(label, cpu ratio, rss bytes, cpu warning, health) of each generator process."""
        runner = self.environment.runner
        local = self.local_health
        # This process: its own 3 s psutil samples (Locust's are 10 s apart and start at 0).
        rows = [(local.label, local.cpu_ratio, local.rss_bytes, runner.cpu_warning_emitted, local)]
        if isinstance(runner, MasterRunner):
            # Workers: CPU and memory from Locust's heartbeats, the rest from our reports.
            health = dict(stable_items(self.worker_health))
            for client_id, node in stable_items(runner.clients):
                report = health.get(client_id)
                rows.append(
                    (
                        report.label if report else client_id,
                        node.cpu_usage / 100,
                        node.memory_usage,
                        node.cpu_warning_emitted,
                        report,
                    )
                )
        return rows

    def _generator_health(self) -> Iterator[Family]:
        cpu = Family(
            "loadgen_process_cpu_ratio",
            "gauge",
            "CPU use of a generator process (1 = one core).",
            WORKER,
        )
        rss = Family(
            "loadgen_process_resident_memory_bytes",
            "gauge",
            "Resident memory of a generator process.",
            WORKER,
        )
        warning = Family(
            "loadgen_cpu_warning",
            "gauge",
            "1 once Locust warned that the process exceeded 90% CPU.",
            WORKER,
        )
        host_cpu = Family(
            "loadgen_host_cpu_ratio",
            "gauge",
            "CPU use of the host a generator process runs on.",
            WORKER,
        )
        host_memory = Family(
            "loadgen_host_memory_ratio",
            "gauge",
            "Memory use of the host a generator process runs on.",
            WORKER,
        )
        lag = Family(
            "loadgen_event_loop_lag_seconds",
            "histogram",
            "How late a periodic greenlet woke up: time added to request timings.",
            WORKER,
            le_labels=LAG_LAYOUT.labels,
        )
        lag_max = Family(
            "loadgen_event_loop_lag_max_seconds",
            "gauge",
            "Largest event-loop lag of the last few seconds.",
            WORKER,
        )
        for label, cpu_ratio, memory, warned, health in self._processes():
            cpu.add((label,), cpu_ratio)
            rss.add((label,), memory)
            warning.add((label,), int(bool(warned)))
            if health is not None:
                host_cpu.add((label,), health.host_cpu_ratio)
                host_memory.add((label,), health.host_memory_ratio)
                lag.add_histogram((label,), list(health.lag.counts), health.lag.sum)
                lag_max.add((label,), health.lag_max_s)
        yield from (cpu, rss, warning, host_cpu, host_memory, lag, lag_max)

    def _runner(self) -> Iterator[Family]:
        runner = self.environment.runner
        master = isinstance(runner, MasterRunner)
        counts = runner.reported_user_classes_count if master else runner.user_classes_count
        users = Family("loadgen_users", "gauge", "Running users, by user class.", ("user_class",))
        for user_class in self.environment.user_classes:
            users.add((user_class.__name__,), counts.get(user_class.__name__, 0))
        target = Family("loadgen_target_users", "gauge", "Users the runner is asked to run.")
        target.add((), runner.target_user_count or 0)
        state = Family(
            "loadgen_runner_state", "gauge", "1 for the runner's current state.", ("state",)
        )
        for name in RUNNER_STATES:
            state.add((name,), int(runner.state == name))
        spawning = Family("loadgen_spawning", "gauge", "1 while users are being spawned.")
        spawning.add((), int(runner.state == STATE_SPAWNING))
        yield from (users, target, state, spawning)
        shape = self.environment.shape_class
        if shape is not None:
            shape_target = Family(
                "loadgen_shape_target_users",
                "gauge",
                "Users the load shape asks for at its last tick.",
                ("shape",),
            )
            shape_target.add(
                (getattr(shape, "name", type(shape).__name__),),
                getattr(shape, "target_users", runner.target_user_count or 0),
            )
            yield shape_target
        if master:
            workers = Family(
                "loadgen_workers", "gauge", "Workers known to the master, by state.", ("state",)
            )
            by_state = [node.state for _, node in stable_items(runner.clients)]
            for name in WORKER_STATES:
                workers.add((name,), by_state.count(name))
            expected = Family(
                "loadgen_workers_expected",
                "gauge",
                "Workers the master was started to expect (--expect-workers).",
            )
            expected.add((), getattr(self.environment.parsed_options, "expect_workers", 0) or 0)
            yield from (workers, expected)

    def _self_metrics(self) -> Iterator[Family]:
        info = Family(
            "loadgen",
            "info",
            "The load generator and what it runs.",
            ("version", "locust_version", "python_version", "locustfile", "scenario", "mode"),
        )
        info.add(
            (
                self.info.version,
                locust.__version__,
                platform.python_version(),
                self.info.locustfile,
                self.info.scenario,
                self.info.mode,
            ),
            1,
        )
        errors = Family(
            "loadgen_exporter_errors", "counter", "Errors caught inside the exporter's listeners."
        )
        errors.add((), self.store.errors)
        scrape = Family(
            "loadgen_scrape_duration_seconds",
            "gauge",
            "Time the previous scrape took to collect and render.",
        )
        scrape.add((), self.last_scrape_s)
        yield from (info, errors, scrape)
