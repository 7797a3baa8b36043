"""The seed's documented commands work as written (with the sandbox as host)."""

import os
import shutil
import subprocess
import sys

from tests.support.processes import LOCUSTFILES, ROOT, free_port
from tests.support.processes import run_locust_to_end as locust


def test_headless_run_with_html_report(sandbox, tmp_path):
    done = locust(
        "-f",
        str(LOCUSTFILES / "locustfile.py"),
        "--host",
        sandbox.url,
        "-u",
        "5",
        "-r",
        "5",
        "-t",
        "5s",
        "--headless",
        "--html",
        "report.html",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = (tmp_path / "report.html").read_text()
    assert "/api/auth/login" in report


def test_run_with_the_seed_config_file(sandbox, tmp_path):
    shutil.copy(ROOT / "locust.conf", tmp_path / "locust.conf")
    done = locust(
        "-f",
        str(LOCUSTFILES / "locustfile.py"),
        "--config=locust.conf",
        "--host",
        sandbox.url,
        "-u",
        "3",
        "-r",
        "3",
        "-t",
        "4s",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Run time limit set to 4 seconds" in done.stderr  # headless from the file
    assert (tmp_path / "reports" / "load_test_report.html").exists()
    stats = (tmp_path / "reports" / "load_test_results_stats.csv").read_text()
    assert "/api/auth/login" in stats


def test_the_programmatic_runner_reports_final_statistics(sandbox, tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(LOCUSTFILES / "stress_test.py"),
            "--host",
            sandbox.url,
            "-u",
            "6",
            "-r",
            "6",
            "-t",
            "6",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "SECURENET_METRICS_PORT": str(free_port())},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    assert int(lines["Total requests"]) > 0
    assert int(lines["Failed requests"]) == 0
    # Resources are logged, not fired as fake requests into the stats.
    assert "system_resources" in done.stderr
    assert "cpu_usage" not in done.stdout
