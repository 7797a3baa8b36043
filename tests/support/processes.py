"""Real processes for the tests: sandboxes on free loopback ports, Locust runs and their output."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILES = ROOT / "locustfiles"
ADMIN_KEY = "sandbox-admin-key"
API_KEY = "automated_system_key"
_CATCH_RESPONSE = re.compile(r"^CatchResponseError\(['\"](.*)['\"]\)$")


# Each pytest-xdist worker hands out ports from a range of its own (gw0 the second, gw1 the
# third, ...; a run without workers the first), below the kernel's ephemeral ports: no two
# tests running side by side get the same port, and no outgoing connection takes one between
# the test picking it and its server binding it.
PORTS_PER_PROCESS = 1000
FIRST_PORT = 20_000
_MAX_PROCESSES = 12
_next_port = 0


def _port_range() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) + 1 if worker.startswith("gw") else 0
    if index >= _MAX_PROCESSES:
        raise RuntimeError(f"at most {_MAX_PROCESSES - 1} pytest-xdist workers have ports")
    start = FIRST_PORT + index * PORTS_PER_PROCESS
    return range(start, start + PORTS_PER_PROCESS)


def free_port() -> int:
    """A loopback port that nothing listens on and no other test of this run is handed."""
    global _next_port
    ports = _port_range()
    for _ in ports:
        port = ports[_next_port % len(ports)]
        _next_port += 1
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


# How long a process may take to start answering (a sandbox, a Locust run, Prometheus): a hang
# guard, not a measured margin. Starting is CPU: Python importing Locust, ~3.4 s to the
# service's /healthz on an idle 2-core machine, six times that beside a full parallel phase
# (20 s waits timed out there).
START_S = 90


def wait_until(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def stop_process(process: subprocess.Popen, timeout_s: float = 10) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Sandbox:
    """A real sandbox process on a free loopback port."""

    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    args: tuple[str, ...] = ()
    stdout_path: Path | None = None  # where its stdout goes (else the test's)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Sandbox:
        command = [sys.executable, "-m", "sandbox", "--port", str(self.port), *self.args]
        stdout = self.stdout_path.open("w") if self.stdout_path else None
        try:
            self.process = subprocess.Popen(
                command, env={**os.environ, **self.env}, cwd=ROOT, stdout=stdout
            )
        finally:
            if stdout is not None:
                stdout.close()  # the child holds its own copy
        wait_until(self.healthy, START_S, f"sandbox on {self.url}")
        return self

    def healthy(self) -> bool:
        try:
            return requests.get(f"{self.url}/_sandbox/health", timeout=1).ok
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def login(self, username: str, password: str) -> dict[str, str]:
        response = requests.post(
            f"{self.url}/api/auth/login", json={"username": username, "password": password}
        )
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def set_fault(self, **rule) -> None:
        response = requests.put(
            f"{self.url}/_sandbox/faults", json=rule, headers={"X-Sandbox-Admin-Key": ADMIN_KEY}
        )
        response.raise_for_status()

    def clear_faults(self) -> None:
        response = requests.delete(
            f"{self.url}/_sandbox/faults", headers={"X-Sandbox-Admin-Key": ADMIN_KEY}
        )
        response.raise_for_status()

    def set_version(self, version: str, key: str = ADMIN_KEY) -> requests.Response:
        """The build version the sandbox reports from now on (a deploy)."""
        return requests.put(
            f"{self.url}/_sandbox/version",
            json={"version": version},
            headers={"X-Sandbox-Admin-Key": key},
            timeout=5,
        )


@dataclass
class LocustRun:
    """What one headless Locust run reported: its own JSON and CSV output."""

    returncode: int
    stderr: str
    stats: dict[tuple[str, str], dict]
    failures: list[dict]
    exceptions: list[dict]
    history: list[dict]

    def requests(self, method: str, name: str) -> int:
        entry = self.stats.get((method, name))
        return entry["num_requests"] if entry else 0

    def failures_of(self, method: str, name: str) -> int:
        entry = self.stats.get((method, name))
        return entry["num_failures"] if entry else 0

    def failure_messages(self) -> set[tuple[str, str, str]]:
        """(method, name, message), with catch_response's wrapper taken off the message."""
        return {
            (row["Method"], row["Name"], _CATCH_RESPONSE.sub(r"\1", row["Error"]))
            for row in self.failures
        }

    def users_before_stop(self, seconds: int) -> int:
        """User count in the last second before the run-time limit (stopping takes longer)."""
        start = int(self.history[0]["Timestamp"])
        rows = [row for row in self.history if int(row["Timestamp"]) <= start + seconds - 1]
        return int(rows[-1]["User Count"])


def read_csv(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def scrape(port: int, accept: str | None = None) -> requests.Response:
    headers = {"Accept": accept} if accept else {}
    response = requests.get(f"http://127.0.0.1:{port}/metrics", headers=headers, timeout=10)
    response.raise_for_status()
    return response


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a text exposition, keyed by (name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample_values(text: str, name: str) -> dict[frozenset, float]:
    return {labels: value for (n, labels), value in samples(text).items() if n == name}


def requests_by_endpoint(text: str) -> dict[tuple[str, str], tuple[int, int]]:
    """(method, name) -> (requests, failures) as exported."""
    made = sample_values(text, "loadgen_requests_total")
    failed = sample_values(text, "loadgen_request_failures_total")
    return {
        (dict(labels)["method"], dict(labels)["name"]): (int(value), int(failed[labels]))
        for labels, value in made.items()
    }


def locust_totals(stats_json: Path) -> dict[tuple[str, str], tuple[int, int]]:
    """(method, name) -> (requests, failures) as Locust's --json-file reports, HTTP only."""
    return {
        (entry["method"], entry["name"]): (entry["num_requests"], entry["num_failures"])
        for entry in json.loads(stats_json.read_text())
        if entry["method"] not in ("CUSTOM", "SYSTEM")
    }


def run_locust_to_end(
    *args: str, cwd: Path, env=None, timeout: int = 120
) -> subprocess.CompletedProcess:
    """A Locust process (`python -m locust ARGS`) run to its end, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "locust", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def start_locust(locustfile: str | Path, *args: str, cwd: Path, env=None) -> subprocess.Popen:
    """A Locust process in the background; stderr kept for assertion messages."""
    return subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(locustfile), *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )


def metrics_answer(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=1).ok
    except requests.RequestException:
        return False


def _rounding(ms: float) -> float:
    """Half the step Locust rounds a response time to in its `response_times` (1, 10, 100 ms)."""
    return 0.5 if ms < 100 else 5.0 if ms < 1000 else 50.0


def latency_disagreements(final_text: str, stats_json: Path) -> list[str]:
    """Per (method, name): where the exported latency histogram disagrees with Locust's own
    stats — its count, its sum, or a bucket outside what Locust's rounded times allow."""
    counts = sample_values(final_text, "loadgen_request_duration_seconds_count")
    sums = sample_values(final_text, "loadgen_request_duration_seconds_sum")
    buckets = sample_values(final_text, "loadgen_request_duration_seconds_bucket")
    problems = []
    for entry in json.loads(stats_json.read_text()):
        if entry["method"] in ("CUSTOM", "SYSTEM"):
            continue
        key = frozenset({("method", entry["method"]), ("name", entry["name"])})
        timed = entry["num_requests"] - entry["num_none_requests"]
        where = f"{entry['method']} {entry['name']}"
        if counts.get(key) != timed:
            problems.append(f"{where}: count {counts.get(key)} != Locust's {timed}")
        if abs(sums.get(key, 0.0) * 1000 - entry["total_response_time"]) > 1e-6 * max(
            1.0, entry["total_response_time"]
        ):
            problems.append(
                f"{where}: sum {sums.get(key)} s != Locust's {entry['total_response_time']} ms"
            )
        times = [(float(ms), n) for ms, n in entry["response_times"].items()]
        for labels, exported in buckets.items():
            labels = dict(labels)
            if (labels["method"], labels["name"]) != (entry["method"], entry["name"]):
                continue
            bound_ms = float(labels["le"]) * 1000
            surely = sum(n for ms, n in times if ms + _rounding(ms) <= bound_ms)
            maybe = sum(n for ms, n in times if ms - _rounding(ms) <= bound_ms)
            if not surely <= exported <= maybe:
                problems.append(
                    f"{where}: bucket le={labels['le']} {exported} not in [{surely}, {maybe}]"
                )
    return problems
