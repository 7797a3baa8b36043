"""A time-accelerated simulation of Locust's statistics over days: what they accumulate with
and without the service's retention (`make bench ARGS=soak`, and the retention tests)."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from types import SimpleNamespace

import locust.stats
import psutil
from locust.stats import RequestStats, update_stats_history

from service.metrics.store import MetricStore
from service.operation.retention import StatsRetention

START = 1_767_225_600.0  # a fixed wall-clock start: runs are comparable
WARM_UP_S = 3600.0


class SimulatedTime:
    """Stands in for the `time` module inside locust.stats."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def __getattr__(self, name: str):
        return getattr(time, name)


@dataclass
class SoakResult:
    stats: RequestStats
    requests: int
    failures: int
    history_keep: int
    max_error_entries: int
    rss_warm: int
    rss_end: int


def _rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


def simulate(
    days: float,
    endpoints: int = 30,
    seconds_per_step: int = 1,
    retention: bool = True,
    history_keep: int = 720,
    max_error_entries: int = 200,
    error_every_s: int = 10,
) -> SoakResult:
    clock = SimulatedTime(START)
    real_time, locust.stats.time = locust.stats.time, clock
    try:
        stats = RequestStats(use_response_times_cache=True)
        runner = SimpleNamespace(stats=stats, user_count=100, state="running")
        trimmer = StatsRetention(history_keep, max_error_entries) if retention else None
        store = MetricStore() if retention else None
        names = [f"/api/endpoint/{n}" for n in range(endpoints)]
        requests = failures = 0
        rss_warm = 0
        steps = int(days * 86_400 / seconds_per_step)
        for step in range(steps):
            clock.now += seconds_per_step
            elapsed = step * seconds_per_step
            for n, name in enumerate(names):
                response_time = 5 + (step + n) % 400
                stats.log_request("GET", name, response_time, 512)
                if store is not None:
                    store.record_request("GET", name, response_time, 512, None, None)
            requests += endpoints
            if elapsed % error_every_s == 0:
                name = names[step % endpoints]
                error = f"HTTPError('500 for /api/scan/{step}: trace id {step * 7919:x}')"
                stats.log_request("GET", name, 30, 0)
                stats.log_error("GET", name, error)
                requests += 1
                failures += 1
            if elapsed % 5 == 0 or seconds_per_step >= 5:
                update_stats_history(runner)
            if trimmer is not None and (elapsed % 10 == 0 or seconds_per_step >= 10):
                trimmer.trim(stats, clock.now)
            if not rss_warm and elapsed >= WARM_UP_S:
                rss_warm = _rss()
        return SoakResult(
            stats, requests, failures, history_keep, max_error_entries, rss_warm, _rss()
        )
    finally:
        locust.stats.time = real_time
