"""What one worker costs, for sizing worker pods: CPU per request and memory per user of a
real worker (`securenet-loadgen run --worker`) running the seed's default scenario against
the sandbox, at two loads.

The worker runs alone on CPU 1; the sandbox and the master share CPU 0. Requests/s come from
the master's /metrics, CPU and memory from the worker's process tree, over a window after all
users have spawned. The worker is not saturated (one Locust process uses at most one core):
requests/s per core is the measured rate divided by the CPU it took.
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

import psutil
from prometheus_client.parser import text_string_to_metric_families


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(cpu: int):
    return lambda: os.sched_setaffinity(0, {cpu})


def wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"bench worker: {url} did not answer")


def requests_and_users(metrics_port: int) -> tuple[float, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read()
    made = users = 0.0
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            if sample.name == "loadgen_requests_total":
                made += sample.value
            elif sample.name == "loadgen_users":
                users += sample.value
    return made, users


def tree_cpu_and_rss(process: psutil.Process) -> tuple[float, float]:
    processes = [process, *process.children(recursive=True)]
    cpu = sum(p.cpu_times().user + p.cpu_times().system for p in processes)
    rss = sum(p.memory_info().rss for p in processes[1:]) or process.memory_info().rss
    return cpu, rss / 2**20  # the Locust child's memory, without the thin launcher


def measure(users: int, window_s: float) -> dict[str, float]:
    sandbox_port, master_port, metrics_port = free_port(), free_port(), free_port()
    cli = [sys.executable, "-m", "service", "run", "--scenario=default"]
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--port", str(sandbox_port)],
            preexec_fn=pinned(0),
            stdout=subprocess.DEVNULL,
        )
        started = [sandbox]
        try:
            wait_for(f"http://127.0.0.1:{sandbox_port}/_sandbox/health", 20)
            master = subprocess.Popen(
                [*cli, f"--host=http://127.0.0.1:{sandbox_port}", "--master",
                 "--expect-workers=1", f"--master-bind-port={master_port}", f"--users={users}",
                 f"--spawn-rate={max(users // 5, 1)}", f"--metrics-port={metrics_port}"],
                preexec_fn=pinned(0), cwd=tmp, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            worker = subprocess.Popen(
                [*cli, "--worker", f"--master-port={master_port}"],
                preexec_fn=pinned(1), cwd=tmp, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            started += [master, worker]
            wait_for(f"http://127.0.0.1:{metrics_port}/metrics", 30)
            deadline = time.monotonic() + 60
            while requests_and_users(metrics_port)[1] < users and time.monotonic() < deadline:
                time.sleep(0.5)
            time.sleep(5)  # logins done, rates settled
            tree = psutil.Process(worker.pid)
            made0, _ = requests_and_users(metrics_port)
            cpu0, _ = tree_cpu_and_rss(tree)
            t0 = time.monotonic()
            time.sleep(window_s)
            made1, running = requests_and_users(metrics_port)
            cpu1, rss = tree_cpu_and_rss(tree)
            elapsed = time.monotonic() - t0
        finally:
            for process in reversed(started):
                process.terminate()
                try:
                    process.wait(40)
                except subprocess.TimeoutExpired:
                    process.kill()
    rate = (made1 - made0) / elapsed
    cpu = (cpu1 - cpu0) / elapsed
    return {"users": running, "rate": rate, "cpu": cpu, "rss_mb": rss}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench worker", description=__doc__)
    parser.add_argument("--users", type=int, nargs=2, default=[100, 400])
    parser.add_argument("--window", type=float, default=40.0)
    args = parser.parse_args(argv)
    if (os.cpu_count() or 1) < 2:
        sys.exit("bench worker: needs two CPUs (one for the worker, one for the rest)")
    low, high = (measure(users, args.window) for users in args.users)
    for point in (low, high):
        print(
            f"worker at {point['users']:.0f} users: {point['rate']:,.0f} requests/s on "
            f"{point['cpu']:.3f} CPU = {point['rate'] / point['cpu']:,.0f} requests/s per core "
            f"({1e6 * point['cpu'] / point['rate']:,.0f} µs CPU per request), "
            f"RSS {point['rss_mb']:.0f} MB"
        )
    # CPU = fixed + per request * rate: the fixed part is the worker's periodic work
    # (heartbeats, stats reports, the monitor), the rest scales with the load.
    per_request = (high["cpu"] - low["cpu"]) / (high["rate"] - low["rate"])
    fixed = low["cpu"] - per_request * low["rate"]
    per_user = (high["rss_mb"] - low["rss_mb"]) / (high["users"] - low["users"])
    rate_per_user = high["rate"] / high["users"]
    full = (1 - fixed) / per_request
    print(
        f"worker CPU: {fixed:.3f} core fixed + {1e6 * per_request:,.0f} µs per request: "
        f"{1 / per_request:,.0f} requests/s per core at the margin; one worker fills its core "
        f"at {full:,.0f} requests/s (~{full / rate_per_user:,.0f} seed users at "
        f"{rate_per_user:.2f} requests/s each)"
    )
    print(
        f"worker memory: {low['rss_mb'] - per_user * low['users']:.0f} MB "
        f"+ {1024 * per_user:.0f} KB per user"
    )


if __name__ == "__main__":
    main()
