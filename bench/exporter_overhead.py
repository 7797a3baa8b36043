"""CPU seconds per 10,000 requests of a Locust process with the exporter vs vanilla Locust.

Same FastHttpUser locustfile, same fast local target (bench/fast_target.py, CPU 0), Locust on
CPU 1 at saturation. Runs alternate between the variants; the exporter runs are scraped every
5 s as Prometheus would. Prints the medians and their ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.sandbox_throughput import free_port, pinned

HERE = Path(__file__).resolve().parent


def _scrape_every(port: int, seconds: float, stop: threading.Event) -> None:
    while not stop.wait(seconds):
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()


def run_locust(locustfile: str, target: str, users: int, seconds: int) -> dict:
    """Run a benchmark locustfile on CPU 1; the report it writes (BENCH_REPORT), as a dict.

    Runs with the exporter are scraped every 5 s, as Prometheus would.
    """
    with_exporter = locustfile != "overhead_vanilla.py"
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
            *(["--metrics-port", str(metrics_port)] if with_exporter else []),
        ]
        stop = threading.Event()
        if with_exporter:
            threading.Thread(
                target=_scrape_every, args=(metrics_port, 5, stop), daemon=True
            ).start()
        done = subprocess.run(
            command,
            preexec_fn=pinned(1),
            cwd=tmp,
            capture_output=True,
            check=False,
            env={**os.environ, "BENCH_REPORT": str(report), "PYTHONPATH": str(HERE)},
        )
        stop.set()
        if not report.exists():
            sys.exit(f"bench overhead: Locust failed:\n{done.stderr.decode()[-2000:]}")
        return json.loads(report.read_text())


def cpu_per_10k(result: dict) -> float:
    return result["cpu_s"] / result["requests"] * 10_000


class _Ok:
    status_code = 200


def hot_path_us(calls: int = 500_000) -> float:
    """Microseconds the exporter's request listener takes per call, as Locust calls it."""
    from service.metric_store import MetricStore

    store = MetricStore()
    names = [f"/endpoint/{n}" for n in range(20)]
    response = _Ok()
    started = time.perf_counter()
    for i in range(calls):
        store.record_request(
            request_type="GET",
            name=names[i % 20],
            response_time=1.7,
            response_length=2,
            exception=None,
            context={},
            response=response,
            url=None,
            start_time=0.0,
        )
    return (time.perf_counter() - started) / calls * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench overhead", description=__doc__)
    parser.add_argument("--ab-seconds", type=int, default=120)
    parser.add_argument("--ab-runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--users", type=int, default=20)
    args = parser.parse_args(argv)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    target = subprocess.Popen(
        [sys.executable, str(HERE / "fast_target.py"), str(port)],
        preexec_fn=pinned(0),
        stdout=subprocess.DEVNULL,
    )
    time.sleep(1)
    runs: dict[str, list[dict]] = {"vanilla": [], "exporter": []}
    try:
        # One process, listener alternating on/off: CPU per request of each phase; the run
        # with the median ratio of --ab-runs is reported.
        ab_runs = []
        for _ in range(args.ab_runs):
            phases = run_locust("overhead_ab.py", url, args.users, args.ab_seconds)
            ab_runs.append({phase: cpu_per_10k(result) for phase, result in phases.items()})
            print(f"  A/B run: ratio {ab_runs[-1]['on'] / ab_runs[-1]['off']:.3f}", flush=True)
        ab = sorted(ab_runs, key=lambda run: run["on"] / run["off"])[len(ab_runs) // 2]
        for _ in range(args.rounds):
            for variant in runs:
                result = run_locust(f"overhead_{variant}.py", url, args.users, args.seconds)
                result["cpu_per_10k"] = cpu_per_10k(result)
                runs[variant].append(result)
                print(
                    f"  {variant:8} {result['requests']:>8} requests  "
                    f"{result['cpu_per_10k']:.3f} CPU s / 10k",
                    flush=True,
                )
    finally:
        target.terminate()
        target.wait()
    vanilla = statistics.median(r["cpu_per_10k"] for r in runs["vanilla"])
    exporter = statistics.median(r["cpu_per_10k"] for r in runs["exporter"])
    rate = statistics.median(r["requests"] / args.seconds for r in runs["exporter"])
    listener = hot_path_us()
    print(f"CPU seconds per 10,000 requests (FastHttpUser, ~{rate:,.0f} requests/s on one core):")
    print(
        f"  one process, listener on/off every 0.5 s for {args.ab_seconds} s "
        f"(median of {args.ab_runs} runs): "
        f"off {ab['off']:.3f}, on {ab['on']:.3f}, ratio {ab['on'] / ab['off']:.3f} "
        f"(goal <= 1.02)"
    )
    print(
        f"  separate processes, median of {args.rounds} rounds (run-to-run noise ~5%): "
        f"vanilla {vanilla:.3f}, with exporter {exporter:.3f}, ratio {exporter / vanilla:.3f}"
    )
    print(
        f"  the request listener alone: {listener:.2f} us per request = "
        f"{listener / (ab['off'] / 10_000 * 1e6) * 100:.2f}% of Locust's CPU per request"
    )


if __name__ == "__main__":
    main()
