"""Native histograms on a real Prometheus 2.42 (`--enable-feature=native-histograms`, which
scrapes protobuf), beside a classic one scraping the same service: one series per endpoint,
quantiles that agree with the classic buckets and with Locust's own percentiles, exact totals,
standalone and master + workers."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from service.metrics.native import bucket_error, schema_for
from tests.support.processes import (
    LOCUSTFILES,
    START_S,
    free_port,
    metrics_answer,
    start_locust,
    stop_process,
    wait_until,
)
from tests.support.prometheus_stack import ScrapingPrometheus

RUN_S = 25
NATIVE_ERROR = bucket_error(schema_for(0.05))
CLASSIC_ERROR = 0.05
MIN_REQUESTS = 100
RATE = "rate(loadgen_request_duration_seconds[1m])"
NATIVE_P95 = f"histogram_quantile(0.95, sum by (method, name) ({RATE}))"
WHOLE_RUN_P95 = "histogram_quantile(0.95, sum by (method, name) (loadgen_request_duration_seconds))"
# Over the whole run: after the end both servers hold the same final totals, so the two
# estimates are of the very same requests (the two servers' 1-minute windows start at their
# own scrape phases and hold different requests: a p95 of 100 of them differs by more than the
# buckets' errors).
CLASSIC_WHOLE_RUN_P95 = (
    "histogram_quantile(0.95, sum by (method, name, le) (loadgen_request_duration_seconds_bucket))"
)


def load_args(host: str, metrics_port: int, tmp_path: Path) -> list[str]:
    """A bounded run that keeps serving its final totals until the test has read them."""
    return [
        "SecureNetUser",
        "HighVolumeUser",
        "--host",
        host,
        *f"--autostart -u 20 -r 20 -t {RUN_S}s --autoquit 60".split(),
        *f"--web-host 127.0.0.1 --web-port {free_port()}".split(),
        *f"--metrics-port {metrics_port}".split(),
        "--json-file",
        str(tmp_path / "stats"),
    ]


@pytest.fixture
def scrapers(tmp_path):
    """start(port) -> (native, classic) Prometheus servers scraping the port every second."""
    started: list[ScrapingPrometheus] = []

    def start(port: int) -> tuple[ScrapingPrometheus, ScrapingPrometheus]:
        for native in (True, False):
            started.append(ScrapingPrometheus(tmp_path, port, native_histograms=native).start())
        return started[-2], started[-1]

    yield start
    for prometheus in started:
        prometheus.stop()


NATIVE_TOTAL = "sum by (method, name) (histogram_count(loadgen_request_duration_seconds))"
CLASSIC_TOTAL = "sum by (method, name) (loadgen_request_duration_seconds_count)"


def by_endpoint(result: list[dict]) -> dict[tuple[str, str], float]:
    return {
        (series["metric"]["method"], series["metric"]["name"]): float(series["value"][1])
        for series in result
    }


def locust_p95(entry: dict) -> tuple[float, float]:
    """The interval, in seconds, that the true p95 of the run's requests lies in, from
    Locust's own (rounded) response times: between the order statistics that the quantile's
    rank definitions choose among (Prometheus takes the bucket of rank 0.95 n, Locust the
    value of rank int(0.95 n) + 1; in a sparse tail two neighbours differ by far more than
    the rounding), each widened by the rounding Locust applied to it."""
    times = sorted((float(ms), n) for ms, n in entry["response_times"].items())
    timed = sum(n for _ms, n in times)
    lowest_rank = max(1, math.floor(0.95 * timed))
    highest_rank = min(timed, math.ceil(0.95 * timed) + 1)

    def at_rank(rank: int) -> float:
        seen = 0
        for ms, n in times:
            seen += n
            if seen >= rank:
                return ms
        return times[-1][0]

    def rounding(ms: float) -> float:
        return 0.5 if ms < 100 else 5.0 if ms < 1000 else 50.0

    low, high = at_rank(lowest_rank), at_rank(highest_rank)
    return (low - rounding(low)) / 1000, (high + rounding(high)) / 1000


def check_against_prometheus(
    native: ScrapingPrometheus, classic: ScrapingPrometheus, tmp_path: Path, process
) -> None:
    started = time.time()
    # The run ends after RUN_S; then both servers scrape the final totals a few times. On a
    # busy machine the workers' last reports reach the master later: wait until both servers
    # hold the same totals twice, two seconds apart.
    wait_until(lambda: time.time() - started > RUN_S + 4, RUN_S + 10, "the end of the run")
    totals: list[tuple[float, float]] = []

    def settled() -> bool:
        now = time.time()
        pair = (
            sum(v for v in by_endpoint(native.query(NATIVE_TOTAL, now)).values()),
            sum(v for v in by_endpoint(classic.query(CLASSIC_TOTAL, now)).values()),
        )
        totals.append(pair)
        time.sleep(2)
        return len(totals) > 1 and pair[0] == pair[1] == totals[-2][0] == totals[-2][1]

    wait_until(settled, 40, "both servers to hold the final totals")
    at = time.time() - 1
    assert native.target()["lastError"] == "" and classic.target()["lastError"] == ""

    # One native series per endpoint, where the classic server has a series per bucket.
    every = '{__name__=~"loadgen_request_duration_seconds.*"}'
    series = native.query(f"count by (method, name) ({every})")
    assert series and all(value == 1 for value in by_endpoint(series).values()), by_endpoint(series)
    buckets = classic.query("count by (method, name) (loadgen_request_duration_seconds_bucket)")
    assert min(by_endpoint(buckets).values()) > 100

    native_p95 = by_endpoint(native.query(NATIVE_P95, at))
    classic_p95 = by_endpoint(classic.query(CLASSIC_WHOLE_RUN_P95, at))
    windowed = by_endpoint(native.query(f"histogram_count({RATE})", at))
    whole_run_p95 = by_endpoint(native.query(WHOLE_RUN_P95, at))
    counts = by_endpoint(native.query("histogram_count(loadgen_request_duration_seconds)", at))
    assert process.poll() is None, "Locust quit before the test read its final totals"
    stop_process(process)  # Locust writes its stats at exit
    stats = json.loads((tmp_path / "stats.json").read_text())
    endpoints = {
        (e["method"], e["name"]): e for e in stats if e["method"] not in ("CUSTOM", "SYSTEM")
    }
    assert set(counts) == set(endpoints)
    checked = 0
    for endpoint, entry in endpoints.items():
        timed = entry["num_requests"] - entry["num_none_requests"]
        assert counts[endpoint] == timed, (endpoint, counts[endpoint], timed)
        if timed < MIN_REQUESTS:
            continue
        # An estimate is within its layout's error of the true p95 of the same requests: the
        # native one of Locust's (rounded) p95 over the whole run, and within both errors of
        # the classic buckets' of the same run.
        low, high = locust_p95(entry)
        estimate = whole_run_p95[endpoint]
        assert low * (1 - NATIVE_ERROR) <= estimate <= high * (1 + NATIVE_ERROR), (
            endpoint, estimate, low, high,
        )  # fmt: skip
        classic_estimate = classic_p95[endpoint]
        assert abs(estimate - classic_estimate) <= (NATIVE_ERROR + CLASSIC_ERROR) * estimate, (
            endpoint, estimate, classic_estimate,
        )  # fmt: skip
        if windowed[endpoint] * 60 < MIN_REQUESTS:  # rate is per second
            continue
        # The rate form a dashboard uses answers for native histograms too.
        assert 0 < native_p95[endpoint] < 60, (endpoint, native_p95[endpoint])
        checked += 1
    assert checked >= 3, f"only {checked} endpoints had {MIN_REQUESTS} requests"


def test_standalone_native_histograms_on_prometheus(sandbox, tmp_path, scrapers):
    port = free_port()
    native, classic = scrapers(port)
    process = start_locust(
        LOCUSTFILES / "locustfile.py", *load_args(sandbox.url, port, tmp_path), cwd=tmp_path
    )
    try:
        wait_until(lambda: metrics_answer(port), START_S, "the metrics endpoint")
        check_against_prometheus(native, classic, tmp_path, process)
    finally:
        stop_process(process)


def test_master_and_workers_native_histograms_on_prometheus(sandbox, tmp_path, scrapers, cluster):
    port = free_port()
    native, classic = scrapers(port)
    master, _workers = cluster(load_args(sandbox.url, port, tmp_path), 2)
    wait_until(lambda: metrics_answer(port), START_S, "the master's metrics endpoint")
    check_against_prometheus(native, classic, tmp_path, master)
