"""The sandbox's own /metrics: server-side counts and latency per route template."""

import requests
from prometheus_client.parser import text_string_to_metric_families


def sandbox_samples(sandbox) -> dict:
    text = requests.get(f"{sandbox.url}/metrics", timeout=5).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_requests_are_counted_by_route_template_and_status(sandbox):
    headers = sandbox.login("user_7", "test_password")
    before = sandbox_samples(sandbox)
    for threat in ("TH-1", "TH-2", "TH-3"):
        requests.get(f"{sandbox.url}/api/threats/{threat}", headers=headers, timeout=5)
    requests.get(f"{sandbox.url}/no/such/path", timeout=5)
    after = sandbox_samples(sandbox)

    def grew(name, **labels):
        key = (name, frozenset(labels.items()))
        return after.get(key, 0) - before.get(key, 0)

    route = "/api/threats/{threat_id}"
    answered = sum(
        grew("sandbox_requests_total", method="GET", route=route, code=code)
        for code in ("200", "404")
    )
    assert answered == 3, "one series for every threat id: the template, not the path"
    assert grew("sandbox_request_duration_seconds_count", method="GET", route=route) == 3
    assert grew("sandbox_requests_total", method="GET", route="unrouted", code="404") == 1
    assert not any("TH-1" in str(labels) for _name, labels in after)


def test_injected_faults_are_seen_as_a_client_sees_them(sandbox):
    sandbox.set_fault(path_prefix="/api/dashboard", outage=True)
    try:
        before = sandbox_samples(sandbox)
        requests.get(f"{sandbox.url}/api/dashboard", timeout=5)
        after = sandbox_samples(sandbox)
        key = ("sandbox_requests_total", frozenset(
            {"method": "GET", "route": "unrouted", "code": "503"}.items()
        ))  # fmt: skip
        assert after[key] - before.get(key, 0) == 1
        assert after[("sandbox_fault_rules", frozenset())] == 1
    finally:
        sandbox.clear_faults()
