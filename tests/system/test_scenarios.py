"""Each user class of each seed locustfile runs headless against the sandbox, as intended."""

import time

import pytest

SCAN_REJECTED = "Rate limited - scan rejected"


def assert_healthy(run, users: int, seconds: int) -> None:
    """No task raised, no user greenlet died."""
    assert run.exceptions == [], run.exceptions
    assert run.users_before_stop(seconds) == users
    assert "Traceback" not in run.stderr, run.stderr[-3000:]


def test_securenet_user_runs_every_task_and_records_threats_found(sandbox, run_locust):
    run = run_locust("locustfile.py", sandbox.url, users=10, seconds=12, classes=("SecureNetUser",))
    assert_healthy(run, 10, 12)
    assert run.requests("POST", "/api/auth/login") >= 10
    for method, name in [
        ("GET", "/api/dashboard"),
        ("GET", "/api/threats"),
        ("GET", "/api/devices"),
    ]:
        assert run.requests(method, name) > 0, name
    # Only the scan rate limit may fail, and it is counted the way the seed counts it.
    assert {message for *_, message in run.failure_messages()} <= {SCAN_REJECTED}
    assert sum(e["num_failures"] for e in run.stats.values()) == run.failures_of(
        "POST", "/api/scans"
    )
    threats_found = run.stats[("CUSTOM", "threats_found")]
    assert threats_found["num_requests"] == run.requests("GET", "/api/threats")
    # Every tenant has over 50 threats, so each response carried exactly limit=50.
    assert threats_found["total_content_length"] == 50 * threats_found["num_requests"]
    # Query strings are grouped: no stats entry carries one.
    assert not [name for _, name in run.stats if "?" in name]


def test_admin_user_runs_admin_tasks_without_failures(sandbox, run_locust):
    run = run_locust("locustfile.py", sandbox.url, users=3, seconds=10, classes=("AdminUser",))
    assert_healthy(run, 3, 10)
    assert run.requests("POST", "/api/auth/login") == 3
    admin = [name for _, name in run.stats if name.startswith("/api/admin/")]
    assert admin and all(run.stats[("GET", n)]["num_failures"] == 0 for n in admin)
    assert run.failures == []


def test_high_volume_user_streams_and_submits_without_failures(sandbox, run_locust):
    run = run_locust("locustfile.py", sandbox.url, users=4, seconds=8, classes=("HighVolumeUser",))
    assert_healthy(run, 4, 8)
    assert run.requests("GET", "/api/threats/stream") > 20
    assert run.requests("POST", "/api/devices/bulk") > 10
    assert run.requests("POST", "/api/network/data") > 5
    assert run.failures == []


def test_stress_user_fails_only_on_the_scan_rate_limit(start_sandbox, run_locust):
    # A tight per-tenant bucket, so the stress scans are sure to outrun it.
    sandbox = start_sandbox(SANDBOX_SCAN_BURST="2", SANDBOX_SCAN_RATE_PER_S="0.2")
    run = run_locust("stress_test.py", sandbox.url, users=4, seconds=8, classes=("StressTestUser",))
    assert_healthy(run, 4, 8)
    for method, name in [
        ("GET", "/api/dashboard"),
        ("GET", "/api/threats"),
        ("POST", "/api/scans"),
        ("POST", "/api/data/upload"),
    ]:
        assert run.requests(method, name) > 0, name
        if name != "/api/scans":
            assert run.failures_of(method, name) == 0, name
    assert 0 < run.failures_of("POST", "/api/scans") < run.requests("POST", "/api/scans")
    assert all("429" in error for *_, error in run.failure_messages())


@pytest.mark.long(minutes=1.2)  # waits for the next minute's spike
def test_spike_user_bursts_three_endpoints_in_the_first_ten_seconds_of_a_minute(
    sandbox, run_locust
):
    # Start at second 52, so the run holds 8 s of normal traffic and a whole spike window.
    time.sleep((52 - time.time() % 60) % 60)
    run = run_locust("stress_test.py", sandbox.url, users=4, seconds=18, classes=("SpikeTestUser",))
    assert_healthy(run, 4, 18)
    assert run.failures == []
    dashboard = run.requests("GET", "/api/dashboard")
    # Normal waits (1-3 s) give a few dashboards per user; the spike gives far more, and
    # threats/devices only ever come from the spike.
    assert run.requests("GET", "/api/threats") > 20
    assert run.requests("GET", "/api/devices") > 20
    assert dashboard >= run.requests("GET", "/api/threats")


def test_realistic_users_run_the_workflow_of_the_role_they_logged_in_with(sandbox, run_locust):
    run = run_locust(
        "realistic_scenarios.py",
        sandbox.url,
        users=24,
        seconds=16,
        classes=("RealisticSecureNetUser",),
    )
    assert_healthy(run, 24, 16)
    # A viewer token running the admin workflow would show up as 403 failures here.
    assert run.failures == []
    assert run.requests("POST", "/api/auth/login") == 24
    assert run.requests("GET", "/api/alerts") > 0  # analysts
    assert run.requests("GET", "/api/admin/metrics") > 0  # IT admins
    assert run.requests("GET", "/api/dashboard/overview") > 0  # viewers
    assert not [name for _, name in run.stats if "?" in name or "threat_" in name]


def test_a_failed_login_is_counted_and_never_kills_the_user(sandbox, run_locust):
    run = run_locust(
        "locustfile.py",
        sandbox.url,
        users=3,
        seconds=6,
        classes=("SecureNetUser",),
        env={"SECURENET_USER_PASSWORD": "wrong-password"},
    )
    assert_healthy(run, 3, 6)
    assert run.failures_of("POST", "/api/auth/login") >= 3
    assert ("POST", "/api/auth/login", "Login failed with status 401") in run.failure_messages()
    assert run.stats[("POST", "/api/auth/login")]["num_requests"] > 3  # it keeps trying


@pytest.mark.parametrize("ttl", ["2"])
def test_users_renew_short_lived_tokens_before_they_expire(start_sandbox, run_locust, ttl):
    sandbox = start_sandbox(SANDBOX_TOKEN_TTL_S=ttl)
    run = run_locust("locustfile.py", sandbox.url, users=3, seconds=12, classes=("SecureNetUser",))
    assert_healthy(run, 3, 12)
    # An expired token would come back as a 401 failure.
    assert run.failures == []
    # Each user's token goes stale 1.8 s after login; its next task after the first two
    # starts at least 2 s later (waits are 1-5 s), so by ~7 s every user has renewed once.
    assert run.requests("POST", "/api/auth/login") >= 2 * 3
