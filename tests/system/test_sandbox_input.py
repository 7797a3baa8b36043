"""Bad input gets 4xx with a JSON body, never a 500: malformed JSON, wrong types, huge bodies."""

import pytest
import requests


@pytest.fixture(scope="module")
def analyst(sandbox):
    return sandbox.login("analyst_1", "analyst_pass")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/scans", {"scan_type": "vulnerability", "target": "not-an-ip"}),
        ("/api/scans", {"scan_type": "teleport", "target": "10.0.0.0/8"}),
        ("/api/scans", {"target": "10.0.0.0/8"}),
        ("/api/scans", ["a", "list"]),
        (
            "/api/reports",
            {
                "report_type": "weekly_summary",
                "include_sections": ["threats"],
                "date_range": {"start": 10, "end": 1},
            },
        ),
        ("/api/data/upload", {"network_logs": "nope"}),
    ],
)
def test_wrong_types_and_values_get_422_with_json_detail(sandbox, analyst, path, body):
    response = requests.post(f"{sandbox.url}{path}", json=body, headers=analyst)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_settings_reject_non_boolean_preferences(sandbox, analyst):
    body = {"notification_preferences": {"email": "yes", "slack": 1}, "scan_frequency": "daily"}
    response = requests.put(f"{sandbox.url}/api/settings", json=body, headers=analyst)
    assert response.status_code == 422


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", b'{"scan_type": '])
def test_malformed_json_gets_422(sandbox, analyst, raw):
    headers = {**analyst, "Content-Type": "application/json"}
    response = requests.post(f"{sandbox.url}/api/scans", data=raw, headers=headers)
    assert response.status_code == 422


def test_bad_query_values_get_422(sandbox, analyst):
    for params in [
        {"limit": "many"},
        {"since": "yesterday"},
        {"severity": "apocalyptic"},
        {"limit": 0},
    ]:
        response = requests.get(f"{sandbox.url}/api/threats", params=params, headers=analyst)
        assert response.status_code == 422, params


def test_bodies_over_the_limit_get_413_announced_or_streamed(start_sandbox):
    sandbox = start_sandbox(SANDBOX_MAX_BODY_BYTES="200000")
    headers = {**sandbox.login("user_1", "test_password"), "Content-Type": "application/json"}
    url = f"{sandbox.url}/api/data/upload"
    big = (
        b'{"network_logs": [' + b'{"timestamp":1,"source":"a","destination":"b","data":"x"},' * 5000
    )
    assert requests.post(url, data=big, headers=headers).status_code == 413

    def chunks():
        for _ in range(50):
            yield b"x" * 10_000

    assert requests.post(url, data=chunks(), headers=headers).status_code == 413
    within = {
        "network_logs": [{"timestamp": 1, "source": "a", "destination": "b", "data": "x" * 1000}]
        * 100
    }
    assert requests.post(url, json=within, headers=headers).status_code == 202


def test_the_openapi_document_lists_every_seed_endpoint(sandbox):
    paths = requests.get(f"{sandbox.url}/openapi.json").json()["paths"]
    for path in [
        "/api/auth/login",
        "/api/threats/stream",
        "/api/threats/{threat_id}/network-data",
        "/api/admin/users/{user_id}/permissions",
        "/api/admin/tenants/{tenant_id}/settings",
        "/api/data/upload",
        "/api/search",
        "/api/scans/{scan_id}/status",
    ]:
        assert path in paths
