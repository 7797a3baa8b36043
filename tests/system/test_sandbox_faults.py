"""Fault injection: latency, error rate and outage per path prefix, switched at runtime."""

import time

import pytest
import requests

from tests.support.processes import ADMIN_KEY


@pytest.fixture
def faulty(start_sandbox):
    sandbox = start_sandbox()
    sandbox.headers = sandbox.login("user_1", "test_password")
    return sandbox


def timed_get(sandbox, path):
    started = time.perf_counter()
    response = requests.get(f"{sandbox.url}{path}", headers=sandbox.headers)
    return response, time.perf_counter() - started


def test_fixed_latency_applies_to_the_prefix_only(faulty):
    faulty.set_fault(path_prefix="/api/threats", latency={"fixed_ms": 300})
    response, slow = timed_get(faulty, "/api/threats")
    assert response.status_code == 200 and slow >= 0.3
    _, fast = timed_get(faulty, "/api/devices")
    assert fast < 0.2
    faulty.clear_faults()
    _, recovered = timed_get(faulty, "/api/threats")
    assert recovered < 0.2


def test_latency_from_a_distribution(faulty):
    faulty.set_fault(
        path_prefix="/api/dashboard",
        latency={"distribution": "uniform", "mean_ms": 150, "spread_ms": 50},
    )
    durations = [timed_get(faulty, "/api/dashboard")[1] for _ in range(8)]
    assert all(0.1 <= d < 0.6 for d in durations)
    assert max(durations) - min(durations) > 0.005


def test_error_rate_fails_that_share_of_requests(faulty):
    faulty.set_fault(path_prefix="/api/devices", error_rate=0.5, error_status=502)
    codes = [timed_get(faulty, "/api/devices")[0].status_code for _ in range(200)]
    assert set(codes) == {200, 502}
    assert 60 <= codes.count(502) <= 140


def test_outage_answers_503_until_removed_and_spares_the_control_plane(faulty):
    faulty.set_fault(path_prefix="/", outage=True)
    assert timed_get(faulty, "/api/dashboard")[0].status_code == 503
    assert requests.get(f"{faulty.url}/_sandbox/health").status_code == 200
    response = requests.delete(
        f"{faulty.url}/_sandbox/faults",
        params={"path_prefix": "/"},
        headers={"X-Sandbox-Admin-Key": ADMIN_KEY},
    )
    assert response.json() == {"rules": []}
    assert timed_get(faulty, "/api/dashboard")[0].status_code == 200


def test_the_longest_matching_prefix_wins(faulty):
    faulty.set_fault(path_prefix="/api", outage=True)
    faulty.set_fault(path_prefix="/api/threats", latency={"fixed_ms": 1})
    assert timed_get(faulty, "/api/threats")[0].status_code == 200
    assert timed_get(faulty, "/api/devices")[0].status_code == 503


def test_fault_switch_needs_the_admin_key_and_a_valid_rule(faulty):
    url = f"{faulty.url}/_sandbox/faults"
    rule = {"path_prefix": "/api", "outage": True}
    assert requests.put(url, json=rule).status_code == 401
    assert requests.put(url, json=rule, headers={"X-Sandbox-Admin-Key": "no"}).status_code == 401
    key = {"X-Sandbox-Admin-Key": ADMIN_KEY}
    assert requests.put(url, json={"path_prefix": "/api"}, headers=key).status_code == 422
    assert (
        requests.put(url, json={"path_prefix": "/x", "error_rate": 2}, headers=key).status_code
        == 422
    )
    assert requests.get(url, headers=key).json() == {"rules": []}
