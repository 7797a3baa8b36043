"""Sandbox data: deterministic per tenant, filters honoured, mutations persist, 404s."""

import json
import time

import pytest
import requests

from sandbox.dataset import THREATS_PER_TENANT, tenant_data

SEED = 1337


@pytest.fixture(scope="module")
def user(sandbox):
    return sandbox.login("user_1", "test_password")


def expected_threats(tenant: str) -> tuple[dict, ...]:
    # Order and content do not depend on the epoch, only timestamps do.
    return tenant_data(SEED, tenant, 0).threats


def get(sandbox, path, headers, **params):
    response = requests.get(f"{sandbox.url}{path}", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_threats_are_deterministic_per_tenant(sandbox, user):
    body = get(sandbox, "/api/threats", user, tenant_id="tenant_7", limit=50)
    assert [t["id"] for t in body["threats"]] == [
        t["id"] for t in expected_threats("tenant_7")[:50]
    ]
    assert body["count"] == 50
    other = get(sandbox, "/api/threats", user, tenant_id="tenant_8", limit=50)
    assert [t["id"] for t in other["threats"]] != [t["id"] for t in body["threats"]]


def test_threat_filters_severity_status_and_query(sandbox, user):
    body = get(sandbox, "/api/threats", user, tenant_id="tenant_3", severity="critical", limit=500)
    expected = [t for t in expected_threats("tenant_3") if t["severity"] == "critical"]
    assert body["count"] == len(expected) > 0
    assert all(t["severity"] == "critical" for t in body["threats"])

    resolved = get(sandbox, "/api/threats", user, tenant_id="tenant_3", status="resolved", limit=5)
    assert resolved["count"] == 5 and all(t["status"] == "resolved" for t in resolved["threats"])

    found = get(sandbox, "/api/threats", user, tenant_id="tenant_3", q="phishing", limit=500)
    assert found["count"] == sum("phishing" in t["title"] for t in expected_threats("tenant_3"))


def test_since_and_days_select_recent_records(sandbox, user):
    day = get(sandbox, "/api/threats", user, tenant_id="tenant_2", since="24h", limit=500)
    week = get(sandbox, "/api/threats", user, tenant_id="tenant_2", since="7d", limit=500)
    assert 0 < day["count"] < week["count"] < THREATS_PER_TENANT
    cutoff = time.time() - 86400 - 5
    assert all(t["timestamp"] >= cutoff for t in day["threats"])
    admin = sandbox.login("admin", "admin_password")
    audit = get(sandbox, "/api/admin/audit", admin, days=1, limit=500)
    assert all(e["timestamp"] >= time.time() - 86400 - 5 for e in audit["entries"])
    assert audit["count"] < get(sandbox, "/api/admin/audit", admin, days=30, limit=500)["count"]


def test_limit_is_honoured_and_bounded(sandbox, user):
    assert get(sandbox, "/api/devices", user, tenant_id="tenant_1", limit=7)["count"] == 7
    response = requests.get(f"{sandbox.url}/api/devices", headers=user, params={"limit": 100000})
    assert response.status_code == 422


def test_without_tenant_id_the_accounts_home_tenant_is_used(sandbox):
    viewer = sandbox.login("viewer_9", "viewer_pass")
    body = get(sandbox, "/api/threats", viewer, limit=3)
    from sandbox.accounts import home_tenant

    assert body["tenant_id"] == home_tenant("viewer_9", 100)


def test_threat_update_persists_and_unknown_ids_are_404(sandbox):
    analyst = sandbox.login("analyst_1", "analyst_pass")
    update = {"status": "investigating", "assigned_to": "analyst_1"}
    response = requests.put(f"{sandbox.url}/api/threats/threat_42", json=update, headers=analyst)
    assert response.status_code == 200
    threat = get(sandbox, "/api/threats/threat_42", analyst)
    assert threat["status"] == "investigating" and threat["assigned_to"] == "analyst_1"
    flows = get(sandbox, "/api/threats/threat_42/network-data", analyst)["flows"]
    assert flows == get(sandbox, "/api/threats/threat_42/network-data", analyst)["flows"]
    assert (
        get(sandbox, "/api/threats/threat_42/devices", analyst)["devices"][0]["id"]
        == (threat["device_id"])
    )
    for path in [
        "/api/threats/threat_1001",
        "/api/reports/report_999",
        "/api/scans/x/status",
        "/api/dashboard/nope",
    ]:
        assert requests.get(f"{sandbox.url}{path}", headers=analyst).status_code == 404
    unknown_tenant = requests.get(
        f"{sandbox.url}/api/threats", headers=analyst, params={"tenant_id": "tenant_101"}
    )
    assert unknown_tenant.status_code == 404


def test_settings_reports_search_and_bulk_updates_are_real(sandbox, user):
    settings = {
        "notification_preferences": {"email": True, "slack": False},
        "scan_frequency": "daily",
    }
    url = f"{sandbox.url}/api/settings"
    assert requests.put(url, json=settings, headers=user, params={"tenant_id": "tenant_9"}).ok
    assert get(sandbox, "/api/settings", user, tenant_id="tenant_9")["scan_frequency"] == "daily"

    analyst = sandbox.login("analyst_2", "analyst_pass")
    report = {
        "report_type": "weekly_summary",
        "date_range": {"start": 1, "end": 2},
        "include_sections": ["threats"],
    }
    created = requests.post(f"{sandbox.url}/api/reports", json=report, headers=analyst)
    assert created.status_code == 201
    report_id = created.json()["id"]
    assert get(sandbox, f"/api/reports/{report_id}", analyst)["report_type"] == "weekly_summary"
    assert get(sandbox, "/api/reports", analyst)["reports"][0]["id"] == report_id

    hits = get(sandbox, "/api/search", user, q="malware", limit=20)
    assert 0 < hits["count"] <= 20 and all("malware" in h["title"] for h in hits["results"])

    key = {"X-API-Key": "automated_system_key"}
    updates = {
        "updates": [
            {"device_id": "device_3", "status": "offline", "last_seen": 5.0},
            {"device_id": "device_999", "status": "online", "last_seen": 5.0},
        ]
    }
    body = requests.post(f"{sandbox.url}/api/devices/bulk", json=updates, headers=key).json()
    assert body == {"updated": 1, "not_found": ["device_999"]}
    devices = get(sandbox, "/api/devices", user, tenant_id="tenant_1", status="offline", limit=200)
    assert "device_3" in {d["id"] for d in devices["devices"]}


def test_threat_stream_is_bounded_ndjson(sandbox):
    key = {"X-API-Key": "automated_system_key"}
    response = requests.get(
        f"{sandbox.url}/api/threats/stream", headers=key, params={"count": 7}, stream=True
    )
    assert response.headers["content-type"].startswith("application/x-ndjson")
    events = [json.loads(line) for line in response.iter_lines() if line]
    assert [e["id"] for e in events] == [t["id"] for t in expected_threats("tenant_1")[:7]]
    assert (
        requests.get(
            f"{sandbox.url}/api/threats/stream", headers=key, params={"count": 501}
        ).status_code
        == 422
    )
