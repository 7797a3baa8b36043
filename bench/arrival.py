"""`make bench ARGS=arrival`: what open mode costs and holds, one Locust process on one core.

- the highest arrival rate one process sustains with < 1 % late (or dropped) arrivals, against
  the requests/s the same process makes closed with no waits at all (its ceiling);
- the schedule's jitter (actual - intended start) p50 / p99 at a moderate rate;
- CPU per request, open vs closed at the same request rate (closed users paced by
  `constant_throughput`): the cost of the gate, the schedule and the corrected histogram, and
  of waking once per evenly spaced arrival where closed users fall into bursts; and again with
  `--arrival-batch` (`--batch`, 50 ms), which sends the arrivals due within it together; and
  against closed users whose phases are spread (spawned one per request interval), whose
  requests are as evenly spaced as open's: the open model's own cost, the wakes alike.

The generator runs pinned to CPU 1, a target faster than it (`fast_target`) on CPU 0. Each
figure is read from the generator's own /metrics over a window after its users are spawned.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bench.markdown import print_table

HERE = Path(__file__).resolve().parent
PACED = HERE / "arrival_users.py"  # 10 requests/s per user when closed
SATURATING = HERE / "overhead_users.py"  # no waits


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(cpu: int):
    return lambda: os.sched_setaffinity(0, {cpu % os.cpu_count()})


def scrape(port: int) -> dict[str, float]:
    """The totals one window needs: requests, CPU, arrivals by outcome, delay buckets."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels = sample.name, sample.labels
            if name == "loadgen_requests_total":
                found["requests"] = found.get("requests", 0.0) + sample.value
            elif name == "loadgen_process_cpu_seconds_total" and labels.get("worker") == "local":
                found["cpu"] = sample.value
            elif name == "loadgen_arrivals_total":
                key = labels["outcome"]
                found[key] = found.get(key, 0.0) + sample.value
            elif name == "loadgen_arrivals_scheduled_total":
                found["scheduled"] = sample.value
            elif name == "loadgen_arrival_delay_seconds_bucket":
                found[f"le={labels['le']}"] = sample.value
    return found


def run(
    target: int,
    users_file: Path,
    users: int,
    window_s: float,
    rate: float = 0.0,
    *extra: str,
    spawn_rate: float = 0.0,
) -> dict:
    """One run; the change of its totals over `window_s` after the users spawned (at
    `spawn_rate`, default all within a second)."""
    metrics_port = free_port()
    args = [sys.executable, "-m", "service", "run", "--scenario", str(users_file),
            "--host", f"http://127.0.0.1:{target}", "-u", str(users),
            "-r", f"{spawn_rate or users:g}",
            "-t", f"{window_s + 12:.0f}s", "--metrics-port", str(metrics_port),
            "--max-users", "10000", "--max-spawn-rate", "10000"]  # fmt: skip
    if rate:
        args += ["--arrival-rate", str(rate), "--max-arrival-rate", str(max(rate, 5000)), *extra]
    with tempfile.TemporaryDirectory() as tmp:
        process = subprocess.Popen(
            args, cwd=tmp, preexec_fn=pinned(1), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    scrape(metrics_port)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("bench arrival: the generator did not start") from None
                    time.sleep(0.2)
            time.sleep(5)  # spawned, warmed up
            before, began = scrape(metrics_port), time.monotonic()
            time.sleep(window_s)
            after, ended = scrape(metrics_port), time.monotonic()
        finally:
            process.wait(timeout=60)
    delta = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in after}
    delta["seconds"] = ended - began
    return delta


def quantile(delta: dict, q: float) -> float:
    buckets = sorted(
        (float(key[3:]), count) for key, count in delta.items() if key.startswith("le=")
    )
    total = buckets[-1][1]
    below, below_count = 0.0, 0.0
    for le, count in buckets:
        if count >= q * total:
            return below + (le - below) * (q * total - below_count) / max(count - below_count, 1)
        below, below_count = le, count
    return below


def late_share(delta: dict) -> float:
    return (delta.get("late", 0.0) + delta.get("dropped", 0.0)) / max(delta["scheduled"], 1.0)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench arrival", description=__doc__)
    parser.add_argument("--window", type=float, default=20.0, help="seconds measured per run")
    parser.add_argument("--pool", type=int, default=200, help="users carrying the arrivals")
    parser.add_argument("--start-rate", type=float, default=250.0)
    parser.add_argument("--same-rate", type=float, default=500.0,
                        help="the rate of the open vs closed CPU comparison")  # fmt: skip
    parser.add_argument("--batch", type=float, default=0.05,
                        help="the --arrival-batch of the batched open run")  # fmt: skip
    args = parser.parse_args(argv)
    target = free_port()
    server = subprocess.Popen(
        [sys.executable, str(HERE / "fast_target.py"), str(target)],
        preexec_fn=pinned(0), stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(1)
        closed_max = run(target, SATURATING, 20, args.window)
        ceiling = closed_max["requests"] / closed_max["seconds"]
        print(f"closed, no waits (the ceiling): {ceiling:.0f} requests/s at "
              f"{closed_max['cpu'] / closed_max['seconds']:.2f} CPU", flush=True)  # fmt: skip

        held, rate, sweep = None, args.start_rate, []
        while True:
            measured = run(target, PACED, args.pool, args.window, rate)
            share = late_share(measured)
            achieved = (measured["on_time"] + measured["late"]) / measured["seconds"]
            sweep.append((rate, achieved, share, measured["cpu"] / measured["seconds"]))
            print(f"open {rate:.0f}/s: started {achieved:.0f}/s, late or dropped "
                  f"{share:.2%}, CPU {sweep[-1][3]:.2f}", flush=True)  # fmt: skip
            if share >= 0.01 or rate > 2 * ceiling:
                break
            held, rate = rate, rate * 1.25

        jitter = run(target, PACED, args.pool, args.window, min(200.0, args.start_rate))
        same = args.same_rate
        open_run = run(target, PACED, args.pool, args.window, same)
        batched_run = run(target, PACED, args.pool, args.window, same, "--arrival-batch",
                          str(args.batch))  # fmt: skip
        closed_run = run(target, PACED, round(same / 10), args.window)
        # Spawned one per 1/rate s, paced users keep their phases: evenly spaced requests, one
        # wake of the process each, as an open schedule's (the bursts above share wakes).
        spread_run = run(target, PACED, round(same / 10), args.window, spawn_rate=same)
        cpu_open = open_run["cpu"] / open_run["requests"] * 1e6
        cpu_spread = spread_run["cpu"] / spread_run["requests"] * 1e6
        cpu_batched = batched_run["cpu"] / batched_run["requests"] * 1e6
        cpu_closed = closed_run["cpu"] / closed_run["requests"] * 1e6
    finally:
        server.terminate()
        server.wait()

    jitter_rate = min(200.0, args.start_rate)
    p50, p99 = quantile(jitter, 0.5) * 1000, quantile(jitter, 0.99) * 1000
    paced_rate = closed_run["requests"] / closed_run["seconds"]
    highest = f"{held:.0f}/s ({held / ceiling:.0%} of the ceiling)" if held else "below the start"
    rows = [
        ("closed, no waits: requests/s on one core (the ceiling)", f"{ceiling:.0f}"),
        (f"open: highest arrival rate with < 1 % late, pool {args.pool}", highest),
        (f"schedule jitter at {jitter_rate:.0f}/s: p50 / p99", f"{p50:.2f} ms / {p99:.2f} ms"),
        (f"CPU per request at {same:.0f}/s: open / closed (paced, {paced_rate:.0f}/s)",
         f"{cpu_open:.0f} µs / {cpu_closed:.0f} µs ({cpu_open / cpu_closed - 1:+.1%})"),
        (f"the same, open with --arrival-batch {args.batch:g} (up to {args.batch * 1000:g} ms "
         "early)", f"{cpu_batched:.0f} µs / {cpu_closed:.0f} µs "
         f"({cpu_batched / cpu_closed - 1:+.1%})"),
        (f"open / closed with its users' phases spread (spawned at {same:.0f}/s: evenly "
         "spaced requests, as open's)", f"{cpu_open:.0f} µs / {cpu_spread:.0f} µs "
         f"({cpu_open / cpu_spread - 1:+.1%})"),
    ]  # fmt: skip
    print()
    print_table(("figure", "value"), rows)


if __name__ == "__main__":
    main(sys.argv[1:])
