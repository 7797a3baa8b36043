"""Exported totals equal Locust's own, standalone, with --processes, and master + workers."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.processes import (
    LOCUSTFILES,
    free_port,
    locust_totals,
    requests_by_endpoint,
    sample_values,
    scrape,
    stop_process,
    wait_until,
)

LOCUSTFILE = str(LOCUSTFILES / "locustfile.py")


def locust(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", LOCUSTFILE, *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def headless(host: str, metrics_port: int, tmp_path: Path, seconds: int = 10) -> list[str]:
    # 10 SecureNetUsers (threats_found) and 20 HighVolumeUsers (volume).
    return [
        "SecureNetUser",
        "HighVolumeUser",
        "--host",
        host,
        "--headless",
        "-u",
        "30",
        "-r",
        "30",
        "-t",
        f"{seconds}s",
        "--metrics-port",
        str(metrics_port),
        "--metrics-final-file",
        str(tmp_path / "final.prom"),
        "--json-file",
        str(tmp_path / "stats"),
    ]


def assert_exact(tmp_path: Path) -> dict:
    exported = requests_by_endpoint((tmp_path / "final.prom").read_text())
    reported = locust_totals(tmp_path / "stats.json")
    assert exported == reported
    assert sum(made for made, _ in exported.values()) > 50
    return exported


def assert_threats_found_match(tmp_path: Path) -> None:
    text = (tmp_path / "final.prom").read_text()
    found = sample_values(text, "loadgen_threats_found_count")[frozenset()]
    seen = sample_values(text, "loadgen_threats_seen_total")[frozenset()]
    threat_lists = requests_by_endpoint(text).get(("GET", "/api/threats"), (0, 0))[0]
    # One threats_found value per successful /api/threats; each response listed limit=50.
    assert found == threat_lists > 0
    assert seen == 50 * found


def test_standalone_totals_equal_locusts_and_scrapes_live(sandbox, tmp_path):
    port = free_port()
    process = locust(*headless(sandbox.url, port, tmp_path, seconds=12), cwd=tmp_path)
    try:
        wait_until(lambda: _answers(port), 20, "the metrics endpoint")
        time.sleep(4)
        live = requests_by_endpoint(scrape(port).text)
        assert live and all(made > 0 for made, _ in live.values())
        assert process.wait(timeout=60) == 0, process.stderr.read()[-2000:]
    finally:
        stop_process(process)
    assert_exact(tmp_path)
    assert_threats_found_match(tmp_path)


def test_processes_mode_master_serves_exact_totals(sandbox, tmp_path):
    port = free_port()
    process = locust(
        *headless(sandbox.url, port, tmp_path, seconds=12), "--processes", "2", cwd=tmp_path
    )
    try:
        wait_until(lambda: _answers(port), 20, "the master's metrics endpoint")
        time.sleep(5)
        text = scrape(port).text
        workers = sample_values(text, "loadgen_workers")
        assert workers[frozenset({("state", "running")})] == 2
        assert len(sample_values(text, "loadgen_event_loop_lag_seconds_count")) == 3
        assert process.wait(timeout=60) == 0, process.stderr.read()[-2000:]
    finally:
        stop_process(process)
    assert_exact(tmp_path)
    assert_threats_found_match(tmp_path)


def test_master_and_two_worker_processes(sandbox, tmp_path):
    port, master_port = free_port(), free_port()
    master = locust(
        *headless(sandbox.url, port, tmp_path, seconds=14),
        "--master",
        "--expect-workers",
        "2",
        "--master-bind-port",
        str(master_port),
        cwd=tmp_path,
    )
    workers = [
        locust("--worker", "--master-port", str(master_port), "--worker-id", f"w{n}", cwd=tmp_path)
        for n in (1, 2)
    ]
    try:
        wait_until(lambda: _answers(port), 20, "the master's metrics endpoint")
        time.sleep(6)
        text = scrape(port).text
        labels = {dict(k)["worker"] for k in sample_values(text, "loadgen_process_cpu_ratio")}
        assert labels == {"master", "w1", "w2"}
        assert master.wait(timeout=60) == 0, master.stderr.read()[-2000:]
        for worker in workers:
            worker.wait(timeout=30)
    finally:
        for process in (master, *workers):
            stop_process(process)
    assert_exact(tmp_path)
    assert_threats_found_match(tmp_path)


def test_workers_serve_nothing(sandbox, tmp_path):
    master_port, worker_metrics = free_port(), free_port()
    master = locust(
        "--host",
        sandbox.url,
        "--master",
        "--headless",
        "-u",
        "2",
        "-r",
        "2",
        "-t",
        "6s",
        "--expect-workers",
        "1",
        "--master-bind-port",
        str(master_port),
        "--metrics-port",
        str(free_port()),
        cwd=tmp_path,
    )
    worker = locust(
        "--worker",
        "--master-port",
        str(master_port),
        "--metrics-port",
        str(worker_metrics),
        cwd=tmp_path,
    )
    try:
        time.sleep(4)
        assert not _answers(worker_metrics)
    finally:
        for process in (master, worker):
            stop_process(process)


def test_a_killed_worker_shows_as_missing_while_the_master_keeps_serving(sandbox, tmp_path):
    port, master_port = free_port(), free_port()
    master = locust(
        "--host",
        sandbox.url,
        "--master",
        "--headless",
        "-u",
        "4",
        "-r",
        "4",
        "-t",
        "40s",
        "--expect-workers",
        "2",
        "--master-bind-port",
        str(master_port),
        "--metrics-port",
        str(port),
        cwd=tmp_path,
    )
    workers = [
        locust("--worker", "--master-port", str(master_port), cwd=tmp_path) for _ in range(2)
    ]
    try:
        wait_until(lambda: _answers(port), 20, "the master's metrics endpoint")
        missing = frozenset({("state", "missing")})
        wait_until(
            lambda: (
                sample_values(scrape(port).text, "loadgen_workers")[
                    frozenset({("state", "running")})
                ]
                == 2
            ),
            20,
            "two running workers",
        )
        assert sample_values(scrape(port).text, "loadgen_workers")[missing] == 0
        before = sum(made for made, _ in requests_by_endpoint(scrape(port).text).values())
        workers[0].send_signal(signal.SIGKILL)
        wait_until(
            lambda: sample_values(scrape(port).text, "loadgen_workers")[missing] == 1,
            15,
            "the missing-worker gauge to rise",
        )
        time.sleep(3)
        after = sum(made for made, _ in requests_by_endpoint(scrape(port).text).values())
        assert after > before  # the surviving worker's load still arrives
    finally:
        for process in (master, *workers):
            stop_process(process)


def _answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=1).ok
    except requests.RequestException:
        return False
