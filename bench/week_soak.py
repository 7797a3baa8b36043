"""A week of continuous operation in a minute: RSS growth of Locust's stats with the service's
retention vs vanilla Locust, under the same simulation.

30 endpoints answered every simulated second, a unique error message every 10 s, Locust's
5 s history records, on a simulated clock. Each variant runs in its own process; RSS is read
after a warm-up hour and at the end.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from types import SimpleNamespace

import locust.stats
import psutil
from locust.stats import RequestStats, update_stats_history

from service.metric_store import MetricStore
from service.retention import StatsRetention

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


def _variant(retention: bool, days: float, endpoints: int) -> None:
    """Child process: simulate and print the figures as JSON."""
    started = time.process_time()
    result = simulate(days, endpoints, retention=retention)
    entries = result.stats.entries.values()
    print(
        json.dumps(
            {
                "rss_warm": result.rss_warm,
                "rss_end": result.rss_end,
                "per_second_keys": max(len(e.num_reqs_per_sec) for e in entries),
                "history": len(result.stats.history),
                "errors": len(result.stats.errors),
                "requests": result.requests,
                "cpu_s": time.process_time() - started,
            }
        )
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench soak", description=__doc__)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--endpoints", type=int, default=30)
    parser.add_argument("--variant", choices=("service", "vanilla"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.variant:
        _variant(args.variant == "service", args.days, args.endpoints)
        return
    print(
        f"simulated {args.days:g} days, {args.endpoints} endpoints every second, "
        "a unique error every 10 s, Locust's 5 s history:"
    )
    for variant in ("service", "vanilla"):
        done = subprocess.run(
            [sys.executable, "-m", "bench", "soak", "--variant", variant,
             "--days", str(args.days), "--endpoints", str(args.endpoints)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            sys.exit(f"bench soak: {variant} failed:\n{done.stderr[-2000:]}")
        r = json.loads(done.stdout.strip().splitlines()[-1])
        growth_mb = (r["rss_end"] - r["rss_warm"]) / 1e6
        goal = " (goal <= 20 MB)" if variant == "service" else ""
        print(
            f"  {variant:8} RSS growth after the warm-up hour: {growth_mb:8.1f} MB{goal}; "
            f"per-second keys per endpoint {r['per_second_keys']:,}, history records "
            f"{r['history']:,}, error entries {r['errors']:,}, {r['requests']:,} requests "
            f"({r['cpu_s']:.0f} CPU s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
