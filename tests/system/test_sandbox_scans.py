"""Scans are asynchronous (202, queued -> running -> completed) and rate limited per tenant."""

import time

import requests

SCAN = {"scan_type": "vulnerability", "target": "192.168.1.0/24"}


def test_scan_moves_from_queued_through_running_to_completed(start_sandbox):
    sandbox = start_sandbox(SANDBOX_SCAN_QUEUED_S="0.5", SANDBOX_SCAN_RUNNING_S="1")
    headers = sandbox.login("user_1", "test_password")
    started = requests.post(f"{sandbox.url}/api/scans", json=SCAN, headers=headers)
    assert started.status_code == 202
    scan_id = started.json()["scan_id"]
    assert started.headers["Location"] == f"/api/scans/{scan_id}/status"
    seen = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (not seen or seen[-1] != "completed"):
        status = requests.get(f"{sandbox.url}/api/scans/{scan_id}/status", headers=headers).json()
        if not seen or seen[-1] != status["status"]:
            seen.append(status["status"])
        time.sleep(0.1)
    assert seen == ["queued", "running", "completed"]
    assert status["findings"] is not None and status["target"] == "192.168.1.0/24"
    listed = requests.get(
        f"{sandbox.url}/api/scans", headers=headers, params={"status": "completed"}
    ).json()
    assert scan_id in {s["scan_id"] for s in listed["scans"]}


def test_scans_beyond_the_tenant_burst_get_429_with_retry_after(start_sandbox):
    sandbox = start_sandbox(SANDBOX_SCAN_BURST="3", SANDBOX_SCAN_RATE_PER_S="0.5")
    headers = sandbox.login("user_1", "test_password")
    body = {**SCAN, "tenant_id": "tenant_5"}
    codes = [
        requests.post(f"{sandbox.url}/api/scans", json=body, headers=headers).status_code
        for _ in range(5)
    ]
    assert codes == [202, 202, 202, 429, 429]
    limited = requests.post(f"{sandbox.url}/api/scans", json=body, headers=headers)
    assert int(limited.headers["Retry-After"]) >= 1
    other_tenant = {**SCAN, "tenant_id": "tenant_6"}
    assert (
        requests.post(f"{sandbox.url}/api/scans", json=other_tenant, headers=headers).status_code
        == 202
    )
    time.sleep(2.1)  # one token refilled at 0.5/s
    assert requests.post(f"{sandbox.url}/api/scans", json=body, headers=headers).status_code == 202


def test_scans_of_another_tenant_are_not_visible(start_sandbox):
    sandbox = start_sandbox()
    headers = sandbox.login("user_1", "test_password")
    scan_id = requests.post(
        f"{sandbox.url}/api/scans", json={**SCAN, "tenant_id": "tenant_5"}, headers=headers
    ).json()["scan_id"]
    url = f"{sandbox.url}/api/scans/{scan_id}/status"
    assert requests.get(url, headers=headers, params={"tenant_id": "tenant_5"}).status_code == 200
    assert requests.get(url, headers=headers, params={"tenant_id": "tenant_6"}).status_code == 404
