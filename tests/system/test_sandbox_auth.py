"""Sandbox authentication: passwords, token expiry and forgery, roles, the API key."""

import time

import pytest
import requests

from sandbox.accounts import home_tenant

SEED_ACCOUNTS = [
    ("user_1", "test_password", "user"),
    ("user_1000", "test_password", "user"),
    ("admin", "admin_password", "admin"),
    ("stress_user_10000", "password", "user"),
    ("spike_user_7", "password", "user"),
    ("analyst_50", "analyst_pass", "analyst"),
    ("admin_3", "admin_pass", "admin"),
    ("viewer_100", "viewer_pass", "viewer"),
]


@pytest.mark.parametrize(("username", "password", "role"), SEED_ACCOUNTS)
def test_seed_accounts_log_in_with_their_role_and_home_tenant(sandbox, username, password, role):
    response = requests.post(
        f"{sandbox.url}/api/auth/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["role"] == role
    assert body["tenant_id"] == home_tenant(username, 100)
    assert body["expires_in"] == 3600
    assert body["access_token"].count(".") == 1


@pytest.mark.parametrize(
    ("username", "password"),
    [("user_1", "wrong"), ("user_1001", "test_password"), ("nobody", "x"), ("admin", "admin_pass")],
)
def test_wrong_password_or_unknown_account_gets_401(sandbox, username, password):
    response = requests.post(
        f"{sandbox.url}/api/auth/login", json={"username": username, "password": password}
    )
    assert response.status_code == 401


def test_missing_and_forged_tokens_get_401(sandbox):
    assert requests.get(f"{sandbox.url}/api/dashboard").status_code == 401
    headers = sandbox.login("user_1", "test_password")
    payload, signature = headers["Authorization"].removeprefix("Bearer ").split(".")
    forged = {"Authorization": f"Bearer {payload}.{signature[:-2]}xx"}
    assert requests.get(f"{sandbox.url}/api/dashboard", headers=forged).status_code == 401
    garbage = {"Authorization": "Bearer not-a-token"}
    assert requests.get(f"{sandbox.url}/api/dashboard", headers=garbage).status_code == 401
    assert requests.get(f"{sandbox.url}/api/dashboard", headers=headers).status_code == 200


def test_token_expires_after_its_configured_lifetime(start_sandbox):
    sandbox = start_sandbox(SANDBOX_TOKEN_TTL_S="1")
    headers = sandbox.login("user_1", "test_password")
    assert requests.get(f"{sandbox.url}/api/dashboard", headers=headers).status_code == 200
    time.sleep(1.2)
    response = requests.get(f"{sandbox.url}/api/dashboard", headers=headers)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_tokens_signed_with_another_secret_are_rejected(start_sandbox):
    first = start_sandbox(SANDBOX_TOKEN_SECRET="one")
    second = start_sandbox(SANDBOX_TOKEN_SECRET="two")
    headers = first.login("user_1", "test_password")
    assert requests.get(f"{second.url}/api/dashboard", headers=headers).status_code == 401


@pytest.mark.parametrize("path", ["/api/admin/dashboard", "/api/admin/tenants", "/api/admin/audit"])
def test_admin_endpoints_need_the_admin_role(sandbox, path):
    for username, password in [("user_1", "test_password"), ("viewer_1", "viewer_pass")]:
        headers = sandbox.login(username, password)
        assert requests.get(f"{sandbox.url}{path}", headers=headers).status_code == 403
    admin = sandbox.login("admin_1", "admin_pass")
    assert requests.get(f"{sandbox.url}{path}", headers=admin).status_code == 200


def test_viewers_are_read_only(sandbox):
    viewer = sandbox.login("viewer_1", "viewer_pass")
    assert requests.get(f"{sandbox.url}/api/threats", headers=viewer).status_code == 200
    update = {"status": "investigating"}
    response = requests.put(f"{sandbox.url}/api/threats/threat_1", json=update, headers=viewer)
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/threats/stream", None),
        (
            "POST",
            "/api/devices/bulk",
            {"updates": [{"device_id": "device_1", "status": "online", "last_seen": 1.0}]},
        ),
        ("POST", "/api/network/data", {"timestamp": 1.0, "source": "s", "data": []}),
    ],
)
def test_automation_endpoints_need_the_api_key(sandbox, method, path, body):
    url = f"{sandbox.url}{path}"
    assert requests.request(method, url, json=body).status_code == 401
    wrong = {"X-API-Key": "wrong"}
    assert requests.request(method, url, json=body, headers=wrong).status_code == 401
    right = {"X-API-Key": "automated_system_key"}
    assert requests.request(method, url, json=body, headers=right).status_code in (200, 202)


def test_api_key_is_configurable(start_sandbox):
    sandbox = start_sandbox(SANDBOX_API_KEY="rotated-key")
    url = f"{sandbox.url}/api/threats/stream"
    assert requests.get(url, headers={"X-API-Key": "automated_system_key"}).status_code == 401
    assert requests.get(url, headers={"X-API-Key": "rotated-key"}).status_code == 200
