"""CPU seconds per 10,000 requests of a Locust process with the exporter vs vanilla Locust.

Same FastHttpUser locustfile, same fast local target (bench/fast_target.py, CPU 0), Locust on
CPU 1 at saturation. Separate vanilla/exporter processes differ by about 5 % from run to run
here, far more than the 2 % goal, so the comparison runs inside one process: the exporter
switches on and off in short phases (bench/overhead_ab.py) and each side's CPU per request is
summed over hundreds of on/off pairs. The ratio comes with a bootstrap 95 % interval; the
median of the pairs' own ratios is printed beside it as a check against outlier phases.
Then the store's recording alone is timed inside a saturated process (bench/record_live.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.sandbox_throughput import free_port, pinned

HERE = Path(__file__).resolve().parent
SCRAPE_EVERY_S = 5


def _scrape_every(port: int, seconds: float, stop: threading.Event) -> None:
    while not stop.wait(seconds):
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()


def run_bench_locustfile(locustfile: str, target: str, users: int, seconds: int) -> Any:
    """Run a benchmark locustfile on CPU 1, scraped every 5 s as Prometheus would; the report
    it writes."""
    metrics_port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(HERE / locustfile),
            "--host",
            target,
            "--headless",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{seconds}s",
            "--only-summary",
            "--metrics-port",
            str(metrics_port),
        ]
        stop = threading.Event()
        threading.Thread(
            target=_scrape_every, args=(metrics_port, SCRAPE_EVERY_S, stop), daemon=True
        ).start()
        done = subprocess.run(
            command,
            preexec_fn=pinned(1),
            cwd=tmp,
            capture_output=True,
            check=False,
            # This checkout's service, whatever the virtualenv's editable install points at.
            env={
                **os.environ,
                "BENCH_REPORT": str(report),
                "PYTHONPATH": os.pathsep.join((str(HERE), str(HERE.parent))),
            },
        )
        stop.set()
        if not report.exists():
            sys.exit(f"bench overhead: Locust failed:\n{done.stderr.decode()[-2000:]}")
        return json.loads(report.read_text())


def cpu_per_request(pairs: list[dict], side: str) -> float:
    return sum(p[side][0] for p in pairs) / sum(p[side][1] for p in pairs)


def ratio(pairs: list[dict]) -> float:
    return cpu_per_request(pairs, "on") / cpu_per_request(pairs, "off")


def median_pair_ratio(pairs: list[dict]) -> float:
    return statistics.median((p["on"][0] / p["on"][1]) / (p["off"][0] / p["off"][1]) for p in pairs)


def bootstrap_interval(
    pairs: list[dict], estimate: Callable[[list[dict]], float], resamples: int = 1000
) -> tuple[float, float]:
    """95 % interval of `estimate`, resampling whole on/off pairs."""
    rng = random.Random(1)
    values = sorted(estimate(rng.choices(pairs, k=len(pairs))) for _ in range(resamples))
    return values[int(resamples * 0.025)], values[int(resamples * 0.975)]


class _Ok:
    status_code = 200


def warm_record_us(calls: int = 500_000) -> float:
    """Microseconds per `record_request` in a warm loop: what the code costs when its data and
    code stay in the CPU's caches, to set beside the time it takes inside Locust."""
    from service.metrics.store import MetricStore

    record = MetricStore().record_request
    names = [f"/endpoint/{n}" for n in range(20)]
    response = _Ok()
    started = time.perf_counter()
    for i in range(calls):
        record("GET", names[i % 20], 1.7, 2, None, response)
    return (time.perf_counter() - started) / calls * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench overhead", description=__doc__)
    parser.add_argument("--seconds", type=int, default=150, help="length of one A/B run")
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument(
        "--no-trace", action="store_true", help="the exporter without trace context (as before)"
    )
    args = parser.parse_args(argv)
    os.environ["BENCH_TRACE"] = "0" if args.no_trace else "1"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    target = subprocess.Popen(
        [sys.executable, str(HERE / "fast_target.py"), str(port)],
        preexec_fn=pinned(0),
        stdout=subprocess.DEVNULL,
    )
    time.sleep(1)
    pairs: list[dict] = []
    try:
        for _ in range(args.runs):
            run = run_bench_locustfile("overhead_ab.py", url, args.users, args.seconds)
            pairs.extend(run)
            print(f"  A/B run: {len(run)} on/off pairs, ratio {ratio(run):.4f}", flush=True)
        live = run_bench_locustfile("record_live.py", url, args.users, 30)
    finally:
        target.terminate()
        target.wait()
    off, on = cpu_per_request(pairs, "off"), cpu_per_request(pairs, "on")
    low, high = bootstrap_interval(pairs, ratio)
    median_low, median_high = bootstrap_interval(pairs, median_pair_ratio)
    warm_us = warm_record_us()
    print(
        f"CPU seconds per 10,000 requests (FastHttpUser on one core, ~{1 / off:,.0f} requests/s; "
        f"{len(pairs)} on/off pairs over {args.runs} runs of {args.seconds} s):"
    )
    print(
        f"  vanilla {off * 1e4:.4f}, with exporter {on * 1e4:.4f}: ratio {on / off:.4f} "
        f"(95 % interval {low:.4f}-{high:.4f}; goal <= 1.02)"
    )
    print(
        f"  median of the pairs' own ratios: {median_pair_ratio(pairs):.4f} "
        f"(95 % interval {median_low:.4f}-{median_high:.4f})"
    )
    print(
        f"  record_request timed inside the saturated process: "
        f"{live['record'] - live['noop']:.2f} us per request (timing wrapper around a no-op: "
        f"{live['noop']:.2f} us, subtracted)"
    )
    print(f"  record_request in a warm loop: {warm_us:.2f} us per request")


if __name__ == "__main__":
    main()
