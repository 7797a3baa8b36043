"""The families of the generator's own health, per process: CPU, memory, host load, event-loop
lag (the master's workers from Locust's heartbeats and their reports)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from service.metrics.buckets import LAG_LAYOUT
from service.metrics.exposition.family import Family
from service.metrics.snapshot import histogram_copy, stable_items
from service.monitor.health import ProcessHealth, WorkersHealth
from service.operation.runner_mode import RunnerMode

WORKER = ("worker",)


def _processes(
    environment: Any, mode: RunnerMode, local: ProcessHealth, workers: WorkersHealth
) -> list[tuple[str, float, int, bool, ProcessHealth | None]]:
    """(label, cpu ratio, rss bytes, cpu warning, health) of each generator process."""
    runner = environment.runner
    # This process: its own 3 s psutil samples (Locust's are 10 s apart and start at 0).
    rows = [(local.label, local.cpu_ratio, local.rss_bytes, runner.cpu_warning_emitted, local)]
    if mode is RunnerMode.MASTER:
        # Workers: CPU and memory from Locust's heartbeats, the rest from our reports.
        for client_id, node in stable_items(runner.clients):
            report = workers.get(client_id)
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


def generator_families(
    environment: Any, mode: RunnerMode, local: ProcessHealth, workers: WorkersHealth
) -> Iterator[Family]:
    """CPU, memory, host load and event-loop lag of every generator process."""
    cpu_seconds = Family(
        "loadgen_process_cpu_seconds",
        "counter",
        "CPU time (user + system) of a generator process; rate() of it is its CPU use.",
        WORKER,
    )
    cpu = Family(
        "loadgen_process_cpu_ratio",
        "gauge",
        "Deprecated, removed in the next release: use rate(loadgen_process_cpu_seconds_total). "
        "CPU use of a generator process over its last few seconds (1 = one core).",
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
        layout=LAG_LAYOUT,
    )
    lag_max = Family(
        "loadgen_event_loop_lag_max_seconds",
        "gauge",
        "Largest event-loop lag of the last few seconds.",
        WORKER,
    )
    for label, cpu_ratio, memory, warned, health in _processes(environment, mode, local, workers):
        cpu.add((label,), cpu_ratio)
        rss.add((label,), memory)
        warning.add((label,), int(bool(warned)))
        if health is not None:
            cpu_seconds.add((label,), health.cpu_seconds)
            host_cpu.add((label,), health.host_cpu_ratio)
            host_memory.add((label,), health.host_memory_ratio)
            counts, native = histogram_copy(health.lag)
            lag.add_histogram((label,), counts, health.lag.sum, native)
            lag_max.add((label,), health.lag_max_s)
    yield from (cpu_seconds, cpu, rss, warning, host_cpu, host_memory, lag, lag_max)
