"""How fast `securenet-loadgen capacity` finds a capacity known by construction: the sandbox
serves `concurrency` requests at once, each for `service_ms` (capacity = concurrency / service
time), and the search runs until it brackets the knee. Printed per case: the known and found
capacity, the error, the steps and seconds the whole search took, and when the answer first
came (and stayed) within ±10 %. `--model open` steps the arrival rate instead of users (its
latency SLO loosened to 2 s / 5 s, so that what breaks a step is falling behind its arrivals,
and the answer is the target's throughput)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.worker_capacity import free_port, wait_for

HERE = Path(__file__).resolve().parent
CASES = ((2, 10.0), (3, 20.0), (1, 8.0))  # (concurrency, service ms): 200, 150, 125 requests/s


def within_10_percent_after(answer: dict, known: float, step_s: float) -> float | None:
    """Seconds until the best held throughput so far entered ±10 % of the known capacity and
    stayed there."""
    best, first_good = 0.0, None
    for index, step in enumerate(answer["steps"], start=1):
        if step["held"] and not step["generator_limited"]:
            best = max(best, step["rps"])
        good = abs(best - known) <= 0.1 * known
        if good and first_good is None:
            first_good = index * step_s
        elif not good:
            first_good = None
    return first_good


def run_case(concurrency: int, service_ms: float, step_s: float, model: str = "closed") -> dict:
    port = free_port()
    env = {
        **os.environ,
        "SANDBOX_CAPACITY_CONCURRENCY": str(concurrency),
        "SANDBOX_CAPACITY_SERVICE_MS": str(service_ms),
    }
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port)], env=env, stdout=subprocess.DEVNULL
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/_sandbox/health", 20)
        with tempfile.TemporaryDirectory() as tmp:
            answer_file = Path(tmp) / "answer.json"
            started = time.monotonic()
            subprocess.run(
                [sys.executable, "-m", "service", "capacity", f"--host=http://127.0.0.1:{port}",
                 f"--scenario={HERE / 'capacity_users.py'}", f"--step-seconds={step_s}",
                 "--start-users=10", f"--json={answer_file}", f"--model={model}",
                 *(("--start-rate=20", "--p95=2", "--p99=5") if model == "open" else ())],
                cwd=tmp, capture_output=True, check=False,
            )  # fmt: skip
            elapsed = time.monotonic() - started
            answer = json.loads(answer_file.read_text())
    finally:
        sandbox.terminate()
        sandbox.wait()
    known = concurrency / (service_ms / 1000)
    return {
        "known": known,
        "found": answer["capacity_rps"],
        "steps": len(answer["steps"]),
        "seconds": elapsed,
        "within_10": within_10_percent_after(answer, known, step_s),
        "limit": answer["limit"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench capacity", description=__doc__)
    parser.add_argument("--step-seconds", type=float, default=10.0)
    parser.add_argument("--model", choices=("closed", "open"), default="closed")
    args = parser.parse_args(argv)
    for concurrency, service_ms in CASES:
        case = run_case(concurrency, service_ms, args.step_seconds, args.model)
        error = (case["found"] - case["known"]) / case["known"]
        within = f"{case['within_10']:.0f} s" if case["within_10"] else "never"
        print(
            f"capacity search ({args.model}), {concurrency} x {service_ms:g} ms (known "
            f"{case['known']:.0f} "
            f"requests/s): found {case['found']:.0f} ({error:+.1%}, limit {case['limit']}) in "
            f"{case['steps']} steps, {case['seconds']:.0f} s; within ±10 % after {within}"
        )


if __name__ == "__main__":
    main()
