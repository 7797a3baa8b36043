"""Scrape cost at a given number of series, per format: bytes, build time, event-loop stall.

An exporter runs in this process with its store filled to the asked number of series; a
greenlet ticking every 1 ms measures how late the gevent loop wakes up (what inflates request
timings). Another process scrapes /metrics repeatedly, asking for each format in turn: text and
protobuf (what Prometheus asks for with native histograms on), each plain and gzipped. Build
time is the whole response on the scrape thread (collect, encode, compress). Also printed:
the series Prometheus stores per endpoint from each format, the protobuf library building its
messages afresh per scrape (why the encoder keeps them), and the stall if the text were
rendered on the loop.
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
from service.metrics.exposition.negotiation import Format
from service.metrics.exposition.protobuf import ProtobufEncoder
from service.metrics.store import MetricStore
from service.operation.runner_mode import RunnerMode
from service.settings.exporter_options import ExporterOptions

CLIENT = """
import sys, time, urllib.request
url, count, accept, encoding = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
headers = {"Accept": accept, **({"Accept-Encoding": encoding} if encoding else {})}
for _ in range(count):
    started = time.perf_counter()
    body = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30).read()
    print(time.perf_counter() - started, len(body), flush=True)
    time.sleep(0.2)
"""
# (label, Accept, Accept-Encoding)
FORMATS = [
    ("text", Format.TEXT.content_type, ""),
    ("text+gzip", Format.TEXT.content_type, "gzip"),
    ("protobuf", Format.PROTOBUF.content_type, ""),
    ("protobuf+gzip", Format.PROTOBUF.content_type, "gzip"),
]


class _Ok:
    status_code = 200


def classic_series_per_endpoint(store: MetricStore) -> int:
    # histogram buckets (with +Inf) + _sum + _count, requests, failures, bytes, one status code
    return len(store.layout.labels) + 2 + 4


def native_series_per_endpoint() -> int:
    # one native histogram series, requests, failures, bytes, one status code
    return 1 + 4


def fill(store: MetricStore, series: int) -> int:
    endpoints = math.ceil(series / classic_series_per_endpoint(store))
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


def measure(exporter: Exporter, ticker: Ticker, scrapes: int, accept: str, encoding: str) -> dict:
    """Per scrape: its build time, and the worst loop lateness while it was being built."""
    windows: list[tuple[float, float]] = []
    render = exporter.server.render

    def timed_render(*args):
        started = time.perf_counter()
        result = render(*args)
        windows.append((started, time.perf_counter()))
        return result

    exporter.server.render = timed_render
    url = f"http://127.0.0.1:{exporter.server.port}/metrics"
    done = gsubprocess.run(
        [sys.executable, "-c", CLIENT, url, str(scrapes), accept, encoding],
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
        "bytes": int(lines[-1][1]),
        "stall_ms": statistics.median(stalls),
        "stall_max_ms": max(stalls),
        "idle_ms": statistics.median(idle),
        "build_ms": statistics.median(end - start for start, end in windows) * 1000,
        "client_ms": statistics.median(float(line[0]) for line in lines) * 1000,
    }


def fresh_protobuf_ms(exporter: Exporter, times: int = 3) -> float:
    """The protobuf answer built with new messages each time (no reuse), in this thread."""
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        ProtobufEncoder().encode(exporter.collector.collect())
        spent.append(time.perf_counter() - started)
    return statistics.median(spent) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench scrape", description=__doc__)
    parser.add_argument("--series", type=int, nargs="+", default=[5000, 118_000])
    parser.add_argument("--scrapes", type=int, default=10)
    args = parser.parse_args(argv)
    ticker = Ticker()
    for series in args.series:
        # A new Locust environment each time: an exporter taps its runner's stats listener.
        environment = Environment(user_classes=[])
        environment.create_local_runner()
        options = ExporterOptions(host="127.0.0.1", port=free_port())
        exporter = Exporter(environment, options, RunnerMode.of(environment.runner))
        exporter.attach()
        endpoints = fill(exporter.store, series)
        gevent.sleep(1)
        classic, native = classic_series_per_endpoint(exporter.store), native_series_per_endpoint()
        print(
            f"{endpoints * classic:,} classic series ({endpoints} endpoints): Prometheus stores "
            f"{classic} series per endpoint from text, {native} from protobuf (native)",
            flush=True,
        )
        for label, accept, encoding in FORMATS:
            result = measure(exporter, ticker, args.scrapes, accept, encoding)
            print(
                f"  {label:<14} {result['bytes'] / 1e6:6.2f} MB  build {result['build_ms']:5.1f} ms"
                f"  HTTP round trip {result['client_ms']:5.1f} ms  loop stall "
                f"{result['stall_ms']:4.1f} ms (worst {result['stall_max_ms']:.1f}, idle loop "
                f"{result['idle_ms']:.1f})",
                flush=True,
            )
        print(
            f"  protobuf built afresh every scrape (no message reuse): "
            f"{fresh_protobuf_ms(exporter):.1f} ms",
            flush=True,
        )
        # For comparison: the text rendered inline, on the loop that times requests.
        route = exporter.server.routes["/metrics"]
        exporter.server.routes["/metrics"] = lambda environ, s=exporter.server: (
            "200 OK",
            [("Content-Type", "text/plain")],
            s.render("")[0],
        )
        inline = measure(exporter, ticker, args.scrapes, Format.TEXT.content_type, "")
        exporter.server.routes["/metrics"] = route
        print(f"  text rendered on the loop instead: stall {inline['stall_ms']:.1f} ms", flush=True)
        exporter.server.stop()
        exporter.monitor.stop()
    ticker.stop()


if __name__ == "__main__":
    main()
