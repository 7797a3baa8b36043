"""Requests/s the sandbox serves on one core under the seed's request mix.

The sandbox is pinned to CPU 0 and Locust (FastHttpUser, no waits) to CPU 1, so the number
is the sandbox's single-core capacity, not the load generator's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


def pinned(cpu: int):
    return lambda: os.sched_setaffinity(0, {cpu})


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench sandbox", description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--users", type=int, default=32)
    args = parser.parse_args(argv)
    if os.cpu_count() < 2:
        sys.exit("bench sandbox: needs two CPUs (one for the sandbox, one for Locust)")
    port = free_port()
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port)],
        preexec_fn=pinned(0),
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "locust",
                    "-f",
                    str(HERE / "sandbox_mix.py"),
                    "--host",
                    f"http://127.0.0.1:{port}",
                    "--headless",
                    "-u",
                    str(args.users),
                    "-r",
                    str(args.users),
                    "-t",
                    f"{args.seconds}s",
                    "--only-summary",
                    "--json-file",
                    f"{tmp}/stats",
                ],
                preexec_fn=pinned(1),
                cwd=tmp,
                capture_output=True,
                check=False,
            )
            stats = json.loads(Path(f"{tmp}/stats.json").read_text())
    finally:
        sandbox.terminate()
        sandbox.wait()
    requests = sum(entry["num_requests"] for entry in stats)
    failures = sum(entry["num_failures"] for entry in stats)
    elapsed = max(e["last_request_timestamp"] for e in stats) - min(e["start_time"] for e in stats)
    print(
        f"sandbox one-core throughput: {requests / elapsed:,.0f} requests/s "
        f"({requests} requests, {failures} failures, {args.users} users, {elapsed:.1f} s)"
    )


if __name__ == "__main__":
    main()
