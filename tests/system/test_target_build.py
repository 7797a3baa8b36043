"""Deploy awareness: the sandbox reports a settable build version, and the service reads it
from a header or a JSON endpoint and exports it with the time it last changed."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.support.processes import (
    LOCUSTFILES,
    free_port,
    run_locust_to_end,
    sample_values,
    scrape,
    start_locust,
    stop_process,
    wait_until,
)


def header_version(url: str) -> str:
    return requests.get(url, timeout=5).headers["X-Build-Version"]


def test_the_sandbox_reports_a_version_set_at_start_and_changed_at_runtime(start_sandbox):
    sandbox = start_sandbox(SANDBOX_VERSION="2.3.4")
    assert requests.get(f"{sandbox.url}/api/version", timeout=5).json() == {"version": "2.3.4"}
    assert (
        requests.get(f"{sandbox.url}/api/threats", timeout=5).headers["X-Build-Version"] == "2.3.4"
    )
    assert sandbox.set_version("2.4.0").ok
    assert (
        requests.get(f"{sandbox.url}/_sandbox/health", timeout=5).headers["X-Build-Version"]
        == "2.4.0"
    )
    assert sandbox.set_version("2.5.0", key="wrong").status_code == 401
    assert sandbox.set_version("bad\nversion").status_code == 422
    assert requests.get(f"{sandbox.url}/api/version", timeout=5).json() == {"version": "2.4.0"}


def build_info(port: int) -> tuple[set[str], float]:
    try:
        text = scrape(port).text
    except requests.RequestException:
        return set(), 0.0
    versions = {
        dict(labels)["version"] for labels in sample_values(text, "loadgen_target_build_info")
    }
    changed = sample_values(text, "loadgen_target_build_changed_timestamp_seconds")
    return versions, max(changed.values(), default=0.0)


@pytest.mark.parametrize(
    "source",
    [["--target-version-header", "X-Build-Version"], ["--target-version-url", "/api/version"]],
    ids=["header", "json"],
)
def test_a_version_change_of_the_target_is_exported_and_logged(start_sandbox, tmp_path, source):
    sandbox = start_sandbox(SANDBOX_VERSION="1.4.0")
    port = free_port()
    process = start_locust(
        LOCUSTFILES / "locustfile.py", "--host", sandbox.url, "--headless", "-u", "1",
        "-t", "30s", "--metrics-port", str(port), *source, "--target-version-interval", "1",
        "HighVolumeUser", cwd=tmp_path,
    )  # fmt: skip
    try:
        wait_until(lambda: build_info(port)[0] == {"1.4.0"}, 20, "the first version")
        first_change = build_info(port)[1]
        assert abs(first_change - time.time()) < 30
        time.sleep(1.1)
        assert sandbox.set_version("1.5.0-bad").ok
        wait_until(lambda: build_info(port)[0] == {"1.5.0-bad"}, 10, "the new version")
        assert build_info(port)[1] > first_change
    finally:
        stop_process(process)
    changes = [
        json.loads(line)
        for line in process.stderr.read().splitlines()
        if line.startswith("{") and "target_version_changed" in line
    ]
    assert [(c["previous"], c["version"]) for c in changes] == [("1.4.0", "1.5.0-bad")]


def test_a_version_url_outside_the_allowlist_is_refused_at_start(tmp_path):
    done = run_locust_to_end(
        "-f", str(LOCUSTFILES / "locustfile.py"), "--headless",
        "--target-version-url", "http://10.1.2.3/version", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert "target http://10.1.2.3/version is not in the allowed hosts" in done.stderr
