"""Capacity by construction: a bounded number of requests in service, each taking a set time,
a bounded queue, 503 beyond it; queueing outside the server's own timing."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.processes import ADMIN_KEY, sample_values

CONTROL = {"X-Sandbox-Admin-Key": ADMIN_KEY}


def timed(url: str) -> tuple[int, float]:
    started = time.perf_counter()
    status = requests.get(url, timeout=10).status_code
    return status, time.perf_counter() - started


@pytest.mark.serial  # times requests to tens of ms
def test_requests_beyond_concurrency_queue_and_beyond_the_queue_are_refused(start_sandbox):
    sandbox = start_sandbox(
        SANDBOX_CAPACITY_CONCURRENCY="2", SANDBOX_CAPACITY_SERVICE_MS="300",
        SANDBOX_CAPACITY_QUEUE="2",
    )  # fmt: skip
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(timed, [f"{sandbox.url}/api/version"] * 6))
    served = sorted(seconds for status, seconds in answers if status == 200)
    refused = [seconds for status, seconds in answers if status == 503]
    assert len(served) == 4 and len(refused) == 2
    assert all(s < 0.25 for s in refused)  # refused at once, not after waiting
    assert 0.3 <= served[0] < 0.5 and 0.6 <= served[-1] < 0.9  # two in service, two queued
    # The control plane and /metrics are never queued behind the load.
    assert timed(f"{sandbox.url}/_sandbox/health")[1] < 0.2
    listed = requests.get(f"{sandbox.url}/_sandbox/capacity", headers=CONTROL).json()
    assert listed["rules"][0]["requests_per_s"] == pytest.approx(2 / 0.3)


@pytest.mark.serial  # times requests to tens of ms
def test_server_side_time_holds_the_service_time_but_not_the_queue(start_sandbox):
    sandbox = start_sandbox()
    rule = {"path_prefix": "/api/version", "concurrency": 1, "service_ms": 200, "queue": 10}
    assert requests.put(f"{sandbox.url}/_sandbox/capacity", json=rule, headers=CONTROL).ok
    with ThreadPoolExecutor(3) as pool:
        client = sum(s for _, s in pool.map(timed, [f"{sandbox.url}/api/version"] * 3))
    text = requests.get(f"{sandbox.url}/metrics", timeout=5).text
    server = sum(
        value
        for labels, value in sample_values(text, "sandbox_request_duration_seconds_sum").items()
        if dict(labels)["route"] == "/api/version"
    )
    # Three services of 200 ms. A waiting request's service runs on its slot's clock, from
    # when the slot came free, while its own timing starts when the loop hands it the slot
    # (a fraction of a millisecond later, a few on a loaded machine: 11 ms short over two
    # hand-offs was seen once). The sum may fall short of 0.6, never near the queue's 1.2.
    assert 0.54 <= server < 0.75
    assert client >= 1.15  # 0.2 + 0.4 + 0.6: the waits are the client's only
    other = timed(f"{sandbox.url}/api/auth/login")[1]  # another prefix: no pool, no wait
    assert other < 0.2
    cleared = requests.delete(f"{sandbox.url}/_sandbox/capacity", headers=CONTROL).json()
    assert cleared == {"rules": []}


@pytest.mark.parametrize(
    "setting",
    ["SANDBOX_CAPACITY_SERVICE_MS=nan", "SANDBOX_CAPACITY_SERVICE_MS=-1",
     "SANDBOX_CAPACITY_CONCURRENCY=-2", "SANDBOX_TOKEN_TTL_S=inf"],
)  # fmt: skip
def test_bad_capacity_settings_stop_the_sandbox_with_one_line(setting):
    name, value = setting.split("=")
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "--port", "1"],
        env={"PATH": "/usr/bin:/bin", name: value},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0
    assert done.stderr.strip().startswith(f"sandbox: {name}") and "\n" not in done.stderr.strip()
