"""Event-loop stall caused by a scrape, and scrape duration, at a given number of series.

An exporter runs in this process with its store filled to the asked number of series; a
greenlet ticking every 1 ms measures how late the gevent loop wakes up (what inflates request
timings). Another process scrapes /metrics repeatedly. Rendering on the native scrape thread
(what the service does) is compared with rendering inline on the loop.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time

import gevent
from gevent import subprocess as gsubprocess
from locust.env import Environment

from bench.sandbox_throughput import free_port
from service.metrics.exporter import Exporter
from service.metrics.store import MetricStore
from service.operation.runner_mode import RunnerMode
from service.settings.exporter_options import ExporterOptions

CLIENT = """
import sys, time, urllib.request
url, count = sys.argv[1], int(sys.argv[2])
for _ in range(count):
    started = time.perf_counter()
    body = urllib.request.urlopen(url, timeout=30).read()
    print(time.perf_counter() - started, body.count(b"\\n") - body.count(b"\\n#"), flush=True)
    time.sleep(0.2)
"""


class _Ok:
    status_code = 200


def series_per_endpoint(store: MetricStore) -> int:
    # histogram buckets + _sum + _count, requests, failures, bytes, one status code
    return len(store.layout.labels) + 2 + 4


def fill(store: MetricStore, series: int) -> int:
    endpoints = math.ceil(series / series_per_endpoint(store))
    rng = random.Random(7)
    for endpoint in range(endpoints):
        for _ in range(200):
            store.record_request(
                "GET", f"/api/endpoint/{endpoint}", rng.lognormvariate(3, 1.5), 512, None, _Ok()
            )
    return endpoints


class Ticker:
    """Greenlet that should wake every 1 ms; records when it woke and how late."""

    def __init__(self) -> None:
        self.wakes: list[tuple[float, float]] = []
        self._greenlet = gevent.spawn(self._run)

    def _run(self) -> None:
        while True:
            due = time.perf_counter() + 0.001
            gevent.sleep(0.001)
            now = time.perf_counter()
            self.wakes.append((now, now - due))

    def worst_in(self, start: float, end: float) -> float:
        """Worst lateness of the wake-ups during [start, end] and of the first one after it
        (a loop blocked by the window wakes only once it is over)."""
        late = [lateness for woke, lateness in self.wakes if start <= woke <= end]
        after = next((lateness for woke, lateness in self.wakes if woke > end), 0.0)
        return max([*late, after])

    def stop(self) -> None:
        self._greenlet.kill()


def measure(exporter: Exporter, ticker: Ticker, scrapes: int) -> dict:
    """Per scrape: its build time, and the worst loop lateness while it was being built."""
    windows: list[tuple[float, float]] = []
    render = exporter.server.render

    def timed_render(accept: str):
        started = time.perf_counter()
        result = render(accept)
        windows.append((started, time.perf_counter()))
        return result

    exporter.server.render = timed_render
    url = f"http://127.0.0.1:{exporter.server.port}/metrics"
    done = gsubprocess.run(
        [sys.executable, "-c", CLIENT, url, str(scrapes)],
        capture_output=True,
        text=True,
        check=True,
    )
    exporter.server.render = render
    lines = [line.split() for line in done.stdout.splitlines()]
    stalls = [ticker.worst_in(start, end) * 1000 for start, end in windows]
    # The same statistic over windows of equal length while nothing is scraped (200 ms gaps).
    idle = [
        ticker.worst_in(end + 0.05, end + 0.05 + (end - start)) * 1000 for start, end in windows
    ]
    return {
        "series": int(lines[-1][1]),
        "stall_ms": statistics.median(stalls),
        "stall_max_ms": max(stalls),
        "idle_ms": statistics.median(idle),
        "build_ms": statistics.median(end - start for start, end in windows) * 1000,
        "client_ms": statistics.median(float(line[0]) for line in lines) * 1000,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench scrape", description=__doc__)
    parser.add_argument("--series", type=int, nargs="+", default=[5000, 118_000])
    parser.add_argument("--scrapes", type=int, default=10)
    args = parser.parse_args(argv)
    environment = Environment(user_classes=[])
    environment.create_local_runner()
    ticker = Ticker()
    for series in args.series:
        options = ExporterOptions(host="127.0.0.1", port=free_port())
        exporter = Exporter(environment, options, RunnerMode.of(environment.runner))
        exporter.attach()
        endpoints = fill(exporter.store, series)
        gevent.sleep(1)
        threaded = measure(exporter, ticker, args.scrapes)
        # For comparison: the same scrape rendered inline, on the loop that times requests.
        route = exporter.server.routes["/metrics"]
        exporter.server.routes["/metrics"] = lambda environ, s=exporter.server: (
            "200 OK",
            [("Content-Type", "text/plain")],
            s.render("")[0],
        )
        inline = measure(exporter, ticker, args.scrapes)
        exporter.server.routes["/metrics"] = route
        print(
            f"{threaded['series']:,} series ({endpoints} endpoints): scrape build "
            f"{threaded['build_ms']:.1f} ms, HTTP round trip {threaded['client_ms']:.1f} ms; "
            f"loop stall per scrape {threaded['stall_ms']:.1f} ms (worst "
            f"{threaded['stall_max_ms']:.1f} ms, idle loop {threaded['idle_ms']:.1f} ms); "
            f"if rendered inline: {inline['stall_ms']:.1f} ms",
            flush=True,
        )
        exporter.server.stop()
        exporter.monitor.stop()
    ticker.stop()


if __name__ == "__main__":
    main()
