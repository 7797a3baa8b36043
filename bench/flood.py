"""A flood of unique request names (100,000 in about a minute): stderr volume, memory, event
loop lag and scrape time of the Locust process, which must all stay bounded."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import locust  # noqa: F401 - gevent patches ssl before requests imports it
import psutil
import requests
from prometheus_client.parser import text_string_to_metric_families

USERS = Path(__file__).with_name("flood_users.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape(port: int) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    elapsed = time.perf_counter() - started
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[sample.name] = values.get(sample.name, 0.0) + sample.value
    return elapsed, values


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench flood")
    parser.add_argument("--seconds", type=int, default=70)
    args = parser.parse_args(argv)
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        stderr_path = Path(folder) / "stderr"
        with stderr_path.open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "locust", "-f", str(USERS), "--headless", "-u", "2",
                 "-r", "2", "-t", f"{args.seconds}s", "--metrics-port", str(port),
                 "--json-file", str(Path(folder) / "stats")],
                cwd=folder, stdout=subprocess.DEVNULL, stderr=stderr,
            )  # fmt: skip
            rss, scrapes, lag_max = [], [], 0.0
            time.sleep(3)
            while process.poll() is None:
                try:
                    rss.append(psutil.Process(process.pid).memory_info().rss)
                    elapsed, values = scrape(port)
                except (psutil.Error, requests.RequestException):
                    break
                scrapes.append(elapsed)
                lag_max = max(lag_max, values.get("loadgen_event_loop_lag_max_seconds", 0.0))
                made = values.get("loadgen_requests_total", 0.0)
                time.sleep(2)
            process.wait()
        entries = len(__import__("json").loads((Path(folder) / "stats.json").read_text()))
        print(
            f"flood of unique names for {args.seconds} s: {made:,.0f} requests "
            f"(~{made / args.seconds:,.0f} new names/s, folded past the budget)\n"
            f"  stderr: {stderr_path.stat().st_size / 1e6:.2f} MB\n"
            f"  RSS: {rss[0] / 1e6:.0f} MB at 3 s -> {rss[-1] / 1e6:.0f} MB at the end "
            f"(max {max(rss) / 1e6:.0f} MB)\n"
            f"  Locust's own stats entries at the end: {entries}\n"
            f"  event loop lag, largest seen: {lag_max:.3f} s\n"
            f"  scrape time: median {sorted(scrapes)[len(scrapes) // 2] * 1000:.0f} ms, "
            f"max {max(scrapes) * 1000:.0f} ms"
        )
