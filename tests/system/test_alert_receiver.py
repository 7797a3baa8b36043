"""The example webhook receiver: one structured log line per alert Alertmanager posts."""

import json
import subprocess
import sys

import requests

from tests.support.processes import ROOT, START_S, free_port, stop_process, wait_until

PAYLOAD = {
    "receiver": "page",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "LoadgenLatencyP95AboveSLO", "severity": "critical"},
            "annotations": {
                "summary": "GET /api/threats: p95 latency 800ms is above the SLO",
                "runbook_url": "https://docs.example/alerts/#loadgenlatencyp95aboveslo",
            },
        },
        {
            "status": "resolved",
            "labels": {"alertname": "LoadgenExporterDown", "severity": "critical"},
            "annotations": {"summary": "127.0.0.1:9646 does not answer"},
        },
    ],
}


def test_each_alert_becomes_one_json_log_line():
    port = free_port()
    receiver = subprocess.Popen(
        [sys.executable, "-m", "service.alert_receiver", "--port", str(port)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/page"
    try:
        wait_until(lambda: _posts(url, PAYLOAD), START_S, "receiver answering")
        assert requests.post(url, data=b"not json", timeout=5).status_code == 400
    finally:
        stop_process(receiver)
    events = [
        json.loads(line) for line in receiver.stderr.read().splitlines() if line.startswith("{")
    ]
    alerts = [e for e in events if e["event"] == "alert"]
    assert [(a["alertname"], a["status"], a["receiver"]) for a in alerts] == [
        ("LoadgenLatencyP95AboveSLO", "firing", "page"),
        ("LoadgenExporterDown", "resolved", "page"),
    ]
    assert alerts[0]["runbook_url"] == "https://docs.example/alerts/#loadgenlatencyp95aboveslo"
    assert any(e["event"] == "alert_payload_invalid" for e in events)


def _posts(url: str, payload: dict) -> bool:
    try:
        return requests.post(url, json=payload, timeout=2).ok
    except requests.RequestException:
        return False
