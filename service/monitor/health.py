"""Generator health of one process: event-loop lag and host load, sampled without blocking.

Lag is how late a periodic greenlet wakes up: when it grows, every request timing taken on
this loop is inflated by the same amount, so results stop being trustworthy.
"""

from __future__ import annotations

import time
from collections.abc import Container
from dataclasses import dataclass, field

import gevent
import psutil

from service.metrics.buckets import LAG_LAYOUT
from service.metrics.series import ValueSeries

LAG_INTERVAL_S = 0.1
HOST_SAMPLE_EVERY = 30  # lag ticks, i.e. every 3 s


@dataclass
class ProcessHealth:
    """The health figures of one process, as kept by whoever exports them."""

    label: str
    lag: ValueSeries = field(default_factory=lambda: ValueSeries(LAG_LAYOUT))
    lag_max_s: float = 0.0
    cpu_ratio: float = 0.0
    cpu_seconds: float = 0.0  # user + system, since the process started
    rss_bytes: int = 0
    host_cpu_ratio: float = 0.0
    host_memory_ratio: float = 0.0

    def absorb(self, report: dict) -> None:
        """Add a worker's drained report."""
        self.label = report["label"]
        self.lag.add(*report["lag"])
        self.lag_max_s = report["lag_max_s"]
        self.cpu_seconds = report["cpu_seconds"]
        self.host_cpu_ratio = report["host_cpu_ratio"]
        self.host_memory_ratio = report["host_memory_ratio"]


class WorkersHealth:
    """The master's view of its workers' health: each registered worker's reports added up,
    forgotten when Locust's runner forgets the worker. The one path from the wire to the
    collector."""

    def __init__(self) -> None:
        self._by_client: dict[str, ProcessHealth] = {}

    def absorb(self, client_id: str, report: dict, registered: Container[str]) -> None:
        health = self._by_client.get(client_id)
        if health is None:
            health = self._by_client[client_id] = ProcessHealth(client_id)
        health.absorb(report)
        for gone in [c for c in list(self._by_client) if c not in registered]:
            del self._by_client[gone]

    def get(self, client_id: str) -> ProcessHealth | None:
        return self._by_client.get(client_id)

    def all(self) -> list[ProcessHealth]:
        return list(self._by_client.values())


class ProcessMonitor:
    """A greenlet measuring this process's loop lag, and host CPU/memory every few seconds."""

    def __init__(self, label: str, interval_s: float = LAG_INTERVAL_S) -> None:
        self.health = ProcessHealth(label)
        self.interval_s = interval_s
        self._window_max_s = 0.0
        self._greenlet: gevent.Greenlet | None = None
        self._process = psutil.Process()

    def start(self) -> None:
        # The first calls start the CPU measurements; later calls compare with the previous.
        psutil.cpu_percent(None)
        self._process.cpu_percent(None)
        self.sample_host()
        self.resume()

    def resume(self) -> None:
        """Run the loop (again, after `stop`) without new CPU baselines: its first host sample
        comes one interval in, as after `start`."""
        self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)

    def _run(self) -> None:
        ticks = 0
        while True:
            due = time.monotonic() + self.interval_s
            gevent.sleep(self.interval_s)
            lag = max(0.0, time.monotonic() - due)
            self.health.lag.observe(lag)
            if lag > self._window_max_s:
                self._window_max_s = lag
            ticks += 1
            if ticks % HOST_SAMPLE_EVERY == 0:
                self.sample_host()
                # The max gauge covers the last host-sample window, then starts over.
                self.health.lag_max_s = self._window_max_s
                self._window_max_s = 0.0

    def sample_host(self) -> None:
        # interval=None: CPU since the previous call, without sleeping on the loop.
        self.health.cpu_ratio = self._process.cpu_percent(None) / 100
        self.health.cpu_seconds = self.cpu_seconds_now()
        self.health.rss_bytes = self._process.memory_info().rss
        self.health.host_cpu_ratio = psutil.cpu_percent(None) / 100
        self.health.host_memory_ratio = psutil.virtual_memory().percent / 100

    def cpu_seconds_now(self) -> float:
        """This process's CPU seconds so far, read now (`health.cpu_seconds` is as of the last
        host sample: up to 3 s old, more when the loop lags)."""
        times = self._process.cpu_times()
        return times.user + times.system

    def drain(self, label: str) -> dict:
        """This worker's report since the last drain, for the master."""
        lag = self.health.lag
        report = {
            "label": label,
            "lag": lag.wire(),
            "lag_max_s": max(self.health.lag_max_s, self._window_max_s),
            "cpu_seconds": self.cpu_seconds_now(),  # as of now: the counter is exact
            "host_cpu_ratio": self.health.host_cpu_ratio,
            "host_memory_ratio": self.health.host_memory_ratio,
        }
        self.health.lag = ValueSeries(LAG_LAYOUT)
        return report
