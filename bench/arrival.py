"""`make bench ARGS=arrival`: what open mode costs and holds, one Locust process on one core.

- the highest arrival rate one process sustains with < 1 % late (or dropped) arrivals, against
  the requests/s the same process makes closed with no waits at all (its ceiling);
- the schedule's jitter (actual - intended start) p50 / p99 at a moderate rate;
- CPU per request, open vs closed at the same request rate and the same wake pattern: open
  (evenly spaced arrivals) against closed users held evenly spaced (`arrival_spread_users`),
  and open with `--arrival-batch` against closed users in the bursts Locust's pacing falls
  into. That is the open model's own cost: the gate, the schedule, the accounts and the
  corrected histogram. Then open (evenly spaced) against closed users in their bursts: the
  price, on this machine, of waking once per arrival instead of once per burst.

The generators run pinned to CPU 1, a target faster than them (`fast_target`) on CPU 0. Each
figure is read from the generator's own /metrics (and its wakes from /proc) over windows after
its users are spawned. A comparison runs both generators on CPU 1 at the same time, so that
this VM's slow minutes fall on both alike (one at a time, a run's CPU per request varied by
+-25 % from the next), in both start orders (the first to wake an idle core pays more for
it), and reports the geometric mean of the windows' ratios.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
from prometheus_client.parser import text_string_to_metric_families

from bench.markdown import print_table

HERE = Path(__file__).resolve().parent
PACED = HERE / "arrival_users.py"  # 10 requests/s per user when closed
SATURATING = HERE / "overhead_users.py"  # no waits
SPREAD = HERE / "arrival_spread_users.py"  # 10 requests/s per user, evenly spaced phases


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


def generator_args(
    target: int,
    users_file: Path,
    users: int,
    seconds: float,
    metrics_port: int,
    rate: float = 0.0,
    extra: tuple[str, ...] = (),
) -> list[str]:
    args = [sys.executable, "-m", "service", "run", "--scenario", str(users_file),
            "--host", f"http://127.0.0.1:{target}", "-u", str(users),
            "-r", str(users),
            "-t", f"{seconds:.0f}s", "--metrics-port", str(metrics_port),
            "--max-users", "10000", "--max-spawn-rate", "10000"]  # fmt: skip
    if rate:
        args += ["--arrival-rate", str(rate), "--max-arrival-rate", str(max(rate, 5000)), *extra]
    return args


@dataclass
class Generator:
    port: int
    process: subprocess.Popen

    def read(self) -> dict[str, float]:
        """Its totals now, and the voluntary context switches (wakes) of its Locust."""
        found = scrape(self.port)
        found["wakes"] = sum(
            child.num_ctx_switches().voluntary
            for child in psutil.Process(self.process.pid).children(recursive=True)
        )
        return found


@contextmanager
def generators(*runs: dict, seconds: float) -> Iterator[list[Generator]]:
    """Generator processes (each `generator_args`' keywords), all pinned to CPU 1 and started
    together; yields them once each answers and has warmed up."""
    ports = [free_port() for _ in runs]
    with tempfile.TemporaryDirectory() as tmp:
        started = [
            Generator(port, subprocess.Popen(
                generator_args(**each, seconds=seconds + 15, metrics_port=port), cwd=tmp,
                preexec_fn=pinned(1), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))
            for each, port in zip(runs, ports, strict=True)
        ]  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            for port in ports:
                while True:
                    try:
                        scrape(port)
                        break
                    except OSError:
                        if time.monotonic() > deadline:
                            raise SystemExit("bench arrival: a generator did not start") from None
                        time.sleep(0.2)
            time.sleep(5)  # spawned, warmed up
            yield started
        finally:
            for each in started:
                each.process.wait(timeout=60)


def windows(running: list[Generator], window_s: float, count: int = 1) -> list[list[dict]]:
    """The change of each generator's totals over `count` consecutive windows, read at the
    same moments: [window][generator]."""
    found = []
    before, began = [each.read() for each in running], time.monotonic()
    for _ in range(count):
        time.sleep(window_s)
        after, ended = [each.read() for each in running], time.monotonic()
        deltas = []
        for first, last in zip(before, after, strict=True):
            delta = {key: last.get(key, 0.0) - first.get(key, 0.0) for key in last}
            delta["seconds"] = ended - began
            deltas.append(delta)
        found.append(deltas)
        before, began = after, ended
    return found


def run(target: int, users_file: Path, users: int, window_s: float, rate: float = 0.0,
        *extra: str) -> dict:  # fmt: skip
    """One generator alone; the change of its totals over `window_s` after its users
    spawned."""
    alone = dict(target=target, users_file=users_file, users=users, rate=rate, extra=extra)
    with generators(alone, seconds=window_s) as running:
        return windows(running, window_s)[0][0]


@dataclass
class Comparison:
    """Open against closed, side by side: per window, each one's totals (open first), from
    which its CPU per request (µs) and wakes per request."""

    windows: list[tuple[dict, dict]]

    @staticmethod
    def cpu(delta: dict) -> float:
        return delta["cpu"] / delta["requests"] * 1e6

    def ratios(self) -> list[float]:
        return [self.cpu(opened) / self.cpu(closed) for opened, closed in self.windows]

    def ratio(self) -> float:
        return statistics.geometric_mean(self.ratios())

    def mean(self, side: int, figure: Callable[[dict], float]) -> float:
        return statistics.fmean(figure(pair[side]) for pair in self.windows)

    def summary(self) -> str:
        ratios = self.ratios()
        cpu = [self.mean(side, self.cpu) for side in (0, 1)]
        wakes = [self.mean(side, lambda d: d["wakes"] / d["requests"]) for side in (0, 1)]
        return (f"{cpu[0]:.0f} µs / {cpu[1]:.0f} µs: **{self.ratio() - 1:+.1%}** (windows "
                f"{min(ratios) - 1:+.0%} to {max(ratios) - 1:+.0%}); wakes per request "
                f"{wakes[0]:.2f} / {wakes[1]:.2f}")  # fmt: skip


def side_by_side(open_run: dict, closed_run: dict, window_s: float, count: int) -> Comparison:
    """Open and closed generators on the same core at the same time, `count` windows in each
    start order."""
    found = []
    for first_open in (True, False):
        runs = (open_run, closed_run) if first_open else (closed_run, open_run)
        with generators(*runs, seconds=window_s * count) as running:
            for deltas in windows(running, window_s, count):
                found.append(tuple(deltas) if first_open else tuple(reversed(deltas)))
    return Comparison(found)


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
                        help="the rate of the open vs closed CPU comparisons")  # fmt: skip
    parser.add_argument("--windows", type=int, default=5,
                        help="windows of 10 s per start order in each comparison")  # fmt: skip
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

        held, rate = None, args.start_rate
        while True:
            measured = run(target, PACED, args.pool, args.window, rate)
            share = late_share(measured)
            achieved = (measured["on_time"] + measured["late"]) / measured["seconds"]
            print(f"open {rate:.0f}/s: started {achieved:.0f}/s, late or dropped {share:.2%}, "
                  f"CPU {measured['cpu'] / measured['seconds']:.2f}", flush=True)  # fmt: skip
            if share >= 0.01 or rate > 2 * ceiling:
                break
            held, rate = rate, rate * 1.25

        jitter_rate = min(200.0, args.start_rate)
        jitter = run(target, PACED, args.pool, args.window, jitter_rate)

        same, users = args.same_rate, round(args.same_rate / 10)  # closed: 10/s per user
        evenly = dict(target=target, users_file=PACED, users=args.pool, rate=same)
        batched = dict(target=target, users_file=PACED, users=users, rate=same,
                       extra=("--arrival-batch", "0.1"))  # fmt: skip
        closed_spread = dict(target=target, users_file=SPREAD, users=users)
        closed_bursts = dict(target=target, users_file=PACED, users=users)
        comparisons = {}
        for name, opened, closed in (
            ("spread", evenly, closed_spread),
            ("bursts", batched, closed_bursts),
            ("schedule", evenly, closed_bursts),
        ):
            comparisons[name] = side_by_side(opened, closed, 10.0, args.windows)
            print(f"{name}: {comparisons[name].summary()}", flush=True)
    finally:
        server.terminate()
        server.wait()

    p50, p99 = quantile(jitter, 0.5) * 1000, quantile(jitter, 0.99) * 1000
    highest = f"{held:.0f}/s ({held / ceiling:.0%} of the ceiling)" if held else "below the start"
    model = statistics.geometric_mean(
        [*comparisons["spread"].ratios(), *comparisons["bursts"].ratios()]
    )
    rows = [
        ("closed, no waits: requests/s on one core (the ceiling)", f"{ceiling:.0f}"),
        (f"open: highest arrival rate with < 1 % late, pool {args.pool}", highest),
        (f"schedule jitter at {jitter_rate:.0f}/s: p50 / p99", f"{p50:.2f} ms / {p99:.2f} ms"),
        (f"CPU per request at {same:.0f}/s, open / closed, both evenly spaced (closed users "
         "held on their own phases)", comparisons["spread"].summary()),
        (f"the same, both in bursts of {users} every 100 ms (open with --arrival-batch 0.1, "
         "closed paced by constant_throughput)", comparisons["bursts"].summary()),
        ("the open model's own cost (both rows' windows)", f"**{model - 1:+.1%}**"),
        ("open evenly spaced / closed in its bursts: the price of one wake per arrival here",
         comparisons["schedule"].summary()),
    ]  # fmt: skip
    print()
    print_table(("figure", "value"), rows)


if __name__ == "__main__":
    main(sys.argv[1:])
