"""The sandbox's access log (`--access-log`): every request one JSON line on stdout, traced
ones with their trace id, and nothing secret (tokens, keys, query strings) in any line."""

import json

import pytest
import requests

from tests.support.processes import Sandbox, stop_process, wait_until

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"
SECRET_QUERY = "api_key=query-secret-4711"


@pytest.fixture
def logging_sandbox(tmp_path):
    sandbox = Sandbox(args=("--access-log",), stdout_path=tmp_path / "stdout.log").start()
    yield sandbox, tmp_path / "stdout.log"
    sandbox.stop()


def test_every_request_is_one_json_line_with_its_trace_id_and_no_secret(logging_sandbox):
    sandbox, log = logging_sandbox
    headers = sandbox.login("user_7", "test_password")
    token = headers["Authorization"].split()[1]
    traced = requests.get(
        f"{sandbox.url}/api/threats?{SECRET_QUERY}",
        headers={**headers, "traceparent": TRACEPARENT},
        timeout=5,
    )
    assert traced.ok
    requests.get(f"{sandbox.url}/no/such/path", timeout=5)
    requests.get(f"{sandbox.url}/api/threats", headers={"traceparent": "00-zz-bad-01"}, timeout=5)

    def lines() -> list[dict]:
        return [json.loads(line) for line in log.read_text().splitlines()]

    wait_until(lambda: len(lines()) >= 5, 10, "the access log's lines")  # with health checks
    recorded = requests.get(f"{sandbox.url}/_sandbox/requests/{TRACE_ID}", timeout=5).json()
    stop_process(sandbox.process)
    text = log.read_text()
    entries = lines()  # every line parses: stdout holds nothing else
    assert token not in text and "query-secret" not in text and "test_password" not in text
    by_trace = [e for e in entries if e["trace_id"] == TRACE_ID]
    assert len(by_trace) == 1, entries
    entry = by_trace[0]
    assert entry["event"] == "request" and entry["method"] == "GET"
    assert entry["path"] == "/api/threats" and entry["status"] == 200
    assert entry["span_id"] == "b7ad6b7169203331" and entry["sampled"] is True
    assert 0 < entry["duration_seconds"] < 5 and entry["ts"].endswith("+00:00")
    # The log and the lookup by trace id tell of the same request.
    assert (recorded["path"], recorded["status"], recorded["span_id"]) == (
        entry["path"], entry["status"], entry["span_id"],
    )  # fmt: skip
    untraced = [e for e in entries if e["trace_id"] is None]
    assert {(e["path"], e["status"]) for e in untraced} >= {
        ("/no/such/path", 404),
        ("/api/threats", 401),
        ("/api/auth/login", 200),
    }, untraced
