"""Prometheus config, recording and alert rules, Alertmanager routing: checked by promtool and
amtool, unit-tested by promtool, and proven end to end on real servers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.processes import (
    LOCUSTFILES,
    ROOT,
    START_S,
    free_port,
    metrics_answer,
    start_locust,
    stop_process,
    wait_until,
)
from tests.support.prometheus_stack import (
    AlertReceiver,
    PrometheusStack,
    compress_rules,
    wait_for_data,
)

RULES = sorted((ROOT / "prometheus" / "rules").glob("*.yml"))
PROMTOOL_TESTS = sorted((ROOT / "tests" / "system" / "prometheus").glob("*_test.yml"))


def alert_rules() -> list[dict]:
    """Every alerting rule of the shipped rule files."""
    return [
        rule
        for rule_file in RULES
        for group in yaml.safe_load(rule_file.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def tool(*command: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_prometheus_config_is_valid():
    done = tool("promtool", "check", "config", "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(RULES)} rule files found" in done.stdout


def test_rule_files_are_valid():
    done = tool("promtool", "check", "rules", *map(str, RULES))
    assert done.returncode == 0, done.stdout + done.stderr


def promtool_cases() -> list:
    """Each test group of each promtool test file, as a case of its own: the day-long replays
    run side by side on pytest-xdist's workers instead of one after another in one promtool."""
    return [
        pytest.param(test_file, index, id=f"{test_file.stem}-{index}")
        for test_file in PROMTOOL_TESTS
        for index, _ in enumerate(yaml.safe_load(test_file.read_text())["tests"])
    ]


@pytest.mark.long(minutes=0.5)  # the replays of a day or two
@pytest.mark.parametrize(("test_file", "group"), promtool_cases())
def test_alert_rules_pass_their_unit_tests(test_file, group, tmp_path):
    document = yaml.safe_load(test_file.read_text())
    document["tests"] = [document["tests"][group]]
    document["rule_files"] = [str((test_file.parent / f).resolve()) for f in document["rule_files"]]
    one_group = tmp_path / test_file.name
    one_group.write_text(yaml.safe_dump(document, sort_keys=False, width=1_000_000))
    done = tool("promtool", "test", "rules", one_group.name, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_has_a_unit_test_a_severity_and_a_runbook():
    tested = "".join(p.read_text() for p in PROMTOOL_TESTS)
    for alert in alert_rules():
        name = alert["alert"]
        assert f"alertname: {name}\n" in tested, f"{name} has no promtool test"
        assert alert["labels"]["severity"] in ("critical", "warning"), name
        assert {"summary", "description", "runbook_url"} <= alert["annotations"].keys(), name


def test_alertmanager_config_is_valid():
    done = tool("amtool", "check-config", "alertmanager/alertmanager.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 inhibit rules" in done.stdout


def test_the_compressed_test_copy_of_the_rules_is_valid(tmp_path):
    for rule_file in RULES:
        copy = tmp_path / rule_file.name
        copy.write_text(compress_rules(rule_file.read_text(), 20))
        done = tool("promtool", "check", "rules", str(copy))
        assert done.returncode == 0, done.stdout + done.stderr
    assert "[15000ms]" in (tmp_path / "loadgen_recording.yml").read_text()  # 5m / 20
    regression = (tmp_path / "loadgen_regression.yml").read_text()
    assert "offset 4140000ms" in regression  # 23h / 20
    assert "[4320000ms:90000ms]" in regression  # a subquery's range and step, 1d:30m / 20
    assert "interval: 3000ms" in regression and "for: 30000ms" in regression  # 1m, 10m / 20
    assert "keep_firing_for: 90000ms" in regression  # 30m / 20
    assert "[6h]" in regression  # an annotation's look-back (a deploy) stays in real time


@pytest.mark.long(minutes=1)
def test_alerts_reach_the_webhook_on_real_servers(sandbox, tmp_path):
    """Sandbox, load generator, Prometheus and Alertmanager as real processes; rules on a
    clock 20x faster (a 5 m window is 15 s, `for: 5m` is 15 s)."""
    webhook = AlertReceiver().start()
    metrics = free_port()
    locust = start_locust(
        LOCUSTFILES / "locustfile.py",
        *("--host", sandbox.url, "--headless", "-u", "6", "-r", "6", "-t", "300s"),
        *("--metrics-port", str(metrics), "--only-summary"),
        "HighVolumeUser",
        cwd=tmp_path,
    )
    # Scraped from its first answer: a start slower than `for: 1m` on the 20x clock (3 s) is
    # an exporter down, and pages.
    wait_until(lambda: metrics_answer(metrics), START_S, "the metrics endpoint")
    stack = PrometheusStack(tmp_path, metrics, sandbox.port, webhook.port).start()
    slow = {"name": "/api/threats/stream"}
    try:
        wait_for_data(stack, "job_method_name:loadgen_requests:rate5m")
        wait_for_data(stack, 'up{job="sandbox"} == 1')  # the target's own view is scraped too
        wait_for_data(stack, "sandbox_requests_total")
        assert not webhook.alerts("firing"), webhook.alerts()

        sandbox.set_fault(
            path_prefix="/api/threats/stream", latency={"distribution": "fixed", "fixed_ms": 800}
        )
        wait_until(
            lambda: webhook.has("LoadgenLatencyP95AboveSLO", "firing", **slow), 120, "p95 alert"
        )
        alert = next(
            a for a in webhook.alerts("firing") if a["alertname"] == "LoadgenLatencyP95AboveSLO"
        )
        assert alert["receiver"] == "page" and alert["severity"] == "critical"
        assert "/api/threats/stream" in alert["summary"]
        assert alert["runbook_url"].endswith("/alerts/#loadgenlatencyp95aboveslo")
        assert not webhook.has("LoadgenLatencyP95AboveSLO", "firing", name="/api/devices/bulk")

        sandbox.clear_faults()
        wait_until(
            lambda: webhook.has("LoadgenLatencyP95AboveSLO", "resolved", **slow), 120, "resolved"
        )

        sandbox.set_fault(path_prefix="/api", error_rate=0.6, error_status=500)
        wait_until(
            lambda: webhook.has("LoadgenErrorBudgetBurnFast", "firing", job="loadgen"),
            120,
            "burn-rate alert",
        )
        sandbox.clear_faults()

        stop_process(locust)
        wait_until(
            lambda: webhook.has("LoadgenExporterDown", "firing", job="loadgen"),
            60,
            "exporter-down alert",
        )
    finally:
        stop_process(locust)
        stack.stop()
        webhook.stop()
        sandbox.clear_faults()
