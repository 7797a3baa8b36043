"""Continuous operation with real processes: probes, the target going away and coming back,
signals, safety rails, and what reaches the log."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import requests

from tests.support.processes import (
    LOCUSTFILES,
    ROOT,
    START_S,
    Sandbox,
    free_port,
    sample_values,
    scrape,
    start_locust,
    stop_process,
    wait_until,
)


def scrape_text(port: int) -> str:
    try:
        return scrape(port).text
    except requests.RequestException:
        return ""


def probe(port: int, path: str) -> int:
    try:
        return requests.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code
    except requests.RequestException:
        return 0


def failures_by_reason(port: int) -> dict[str, float]:
    reasons: dict[str, float] = {}
    for labels, value in sample_values(
        scrape(port).text, "loadgen_request_failure_reasons_total"
    ).items():
        reason = dict(labels)["reason"]
        reasons[reason] = reasons.get(reason, 0) + value
    return reasons


def answered(port: int) -> float:
    codes = sample_values(scrape(port).text, "loadgen_responses_total")
    return sum(value for labels, value in codes.items() if dict(labels)["code"] != "0")


def test_service_survives_its_target_going_away_and_recovers_by_itself(tmp_path):
    sandbox = Sandbox().start()
    metrics = free_port()
    locust = start_locust(
        LOCUSTFILES / "locustfile.py",
        *("--host", sandbox.url, "--headless", "-u", "10", "-r", "10", "-t", "80s"),
        *("--metrics-port", str(metrics), "--ready-window", "2", "--only-summary"),
        *("SecureNetUser", "HighVolumeUser"),  # the first parses JSON, the second streams
        cwd=tmp_path,
    )
    try:
        assert_live_and_becomes_ready(metrics)
        sandbox.stop()  # connection refused from now on
        wait_until(lambda: probe(metrics, "/readyz") == 503, 15, "not ready while target down")
        assert probe(metrics, "/healthz") == 200, "a missing target is not a dead service"
        down_answered = answered(metrics)
        down_failures = sum(failures_by_reason(metrics).values())
        time.sleep(1.5)
        assert sum(failures_by_reason(metrics).values()) > down_failures + 5, "refusals counted"
        assert answered(metrics) == down_answered, "nothing answers while the target is down"

        sandbox.start()  # same port: the target comes back
        before = answered(metrics)
        wait_until(lambda: answered(metrics) > before + 20, 20, "requests answered again")
        wait_until(lambda: probe(metrics, "/readyz") == 200, 10, "ready again")

        sandbox.set_fault(path_prefix="/api", outage=True)  # a 503 storm
        wait_until(lambda: failures_by_reason(metrics).get("http_503", 0) > 20, 15, "503s counted")
        sandbox.clear_faults()
        after_outage = answered(metrics)
        wait_until(lambda: answered(metrics) > after_outage + 20, 15, "recovered from outage")

        sandbox.set_fault(path_prefix="/api", garbage=True)  # 200s whose body is not JSON
        garbage_failures = sum(failures_by_reason(metrics).values())
        wait_until(
            lambda: sum(failures_by_reason(metrics).values()) > garbage_failures,
            20,
            "garbage bodies counted as failures",
        )
        sandbox.clear_faults()
        after_garbage = answered(metrics)
        wait_until(lambda: answered(metrics) > after_garbage + 20, 15, "recovered from garbage")
        assert locust.poll() is None, "the service kept running through all of it"
    finally:
        stop_process(locust)
        sandbox.stop()


def assert_live_and_becomes_ready(metrics: int) -> None:
    wait_until(lambda: probe(metrics, "/healthz") == 200, START_S, "/healthz")
    wait_until(lambda: probe(metrics, "/readyz") == 200, START_S, "/readyz")
    body = requests.get(f"http://127.0.0.1:{metrics}/readyz", timeout=2).json()
    assert body["status"] == "ready" and body["users"] > 0


def start_service(tmp_path: Path, *args: str) -> tuple[subprocess.Popen, int]:
    """`securenet-loadgen run` with its embedded sandbox, in the background."""
    metrics = free_port()
    service = subprocess.Popen(
        [sys.executable, "-m", "service", "run", "--sandbox-port", str(free_port()),
         "--metrics-port", str(metrics), *args],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    return service, metrics


def test_sigterm_stops_users_within_the_stop_timeout_and_writes_every_report(tmp_path):
    report = tmp_path / "out"
    service, metrics = start_service(
        tmp_path,
        *("-u", "4", "-r", "4", "--stop-timeout", "3", "--exit-code-on-error", "3"),
        *("--html", f"{report}.html", "--csv", str(report), "--json-file", str(report)),
        *("--only-summary", "--metrics-linger", "10"),
    )
    try:
        assert_live_and_becomes_ready(metrics)
        time.sleep(2)
        sent, sent_at = time.monotonic(), time.time()
        service.send_signal(signal.SIGTERM)
        last_scrape = None
        while service.poll() is None:  # scrape as Prometheus would, until the port closes
            with contextlib.suppress(requests.RequestException):
                last_scrape = scrape(metrics).text
            time.sleep(0.2)
        code = service.wait(timeout=30)
        exited = time.time()
        took = time.monotonic() - sent
    finally:
        stop_process(service)
    log = service.stderr.read()
    stats = json.loads(Path(f"{report}.json").read_text())
    failures = sum(entry["num_failures"] for entry in stats)
    assert code == (3 if failures else 0), log[-2000:]
    # The whole stop (users within --stop-timeout 3, every report, one scrape) is well inside
    # the 10 s linger alone; the linger itself ends at its first scrape (scraped every 0.2 s),
    # not at its 10 s, however long the reports took on a loaded machine (once 11.9 s in all).
    logged = {
        entry["event"]: datetime.fromisoformat(entry["timestamp"]).timestamp()
        for entry in map(json.loads, (line for line in log.splitlines() if line[:1] == "{"))
    }
    stopped = logged["test_stop"] - sent_at
    assert stopped < 3 + 3, f"users stopped {stopped:.1f} s after SIGTERM (--stop-timeout 3)"
    lingered = exited - logged["awaiting_final_scrape"]
    assert lingered < 10 / 2, f"lingered {lingered:.1f} s of 10 (stopped in {took:.1f} s)"
    # The final window was flushed: the last scrape before the port closed holds the totals
    # Locust reported after its users stopped.
    exported = sample_values(last_scrape, "loadgen_requests_total")
    assert sum(exported.values()) == sum(
        entry["num_requests"] for entry in stats if entry["method"] not in ("CUSTOM", "SYSTEM")
    )
    assert Path(f"{report}.html").stat().st_size > 10_000
    assert Path(f"{report}_stats.csv").read_text().count("\n") > 2
    assert sum(entry["num_requests"] for entry in stats) > 0


def test_a_second_signal_does_not_wait_for_the_stop_timeout(tmp_path):
    service, metrics = start_service(
        tmp_path, "-u", "2", "-r", "2", "--stop-timeout", "120", "--only-summary"
    )
    try:
        assert_live_and_becomes_ready(metrics)
        sandbox_port = int(service.args[service.args.index("--sandbox-port") + 1])
        # Every request now hangs for a minute: the users are all busy in a task.
        Sandbox(port=sandbox_port).set_fault(
            path_prefix="/api", latency={"distribution": "fixed", "fixed_ms": 60_000}
        )
        time.sleep(2)
        service.send_signal(signal.SIGTERM)
        time.sleep(2)
        assert service.poll() is None, "the first signal waits for busy users"
        sent = time.monotonic()
        service.send_signal(signal.SIGTERM)
        code = service.wait(timeout=15)
        assert time.monotonic() - sent < 5
        assert code == 128 + signal.SIGKILL
    finally:
        stop_process(service)


def test_plain_locust_refuses_a_target_outside_the_allowlist_before_any_request(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILES / "locustfile.py"),
         "--host", "http://10.20.30.40:8000", "--headless", "-u", "1", "-t", "5s"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert errors == [
        "securenet-loadgen: error: target http://10.20.30.40:8000 is not in the allowed hosts "
        "(127.0.0.1, localhost, ::1, sandbox); add it with --allowed-hosts or "
        "SECURENET_ALLOWED_HOSTS"
    ]
    assert "Traceback" not in done.stderr


def test_no_secret_reaches_the_log(sandbox, tmp_path):
    secret = "Very-Secret-Pass-9431"
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "tests/support/locustfiles/leaky.py"),
         "--host", sandbox.url, "--headless", "-u", "2", "-r", "2", "-t", "4s",
         "--only-summary", "--metrics-port", str(free_port())],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={**os.environ, "SECURENET_USER_PASSWORD": secret,
             "SECURENET_API_KEY": "api-key-4411"},
    )  # fmt: skip
    log = done.stderr
    assert "as_a_field" in log and "with_traceback" in log and "sending" in log
    assert secret not in log
    assert "api-key-4411" not in log
    assert "Bearer ey" not in log  # the token itself, also inside a stdlib record
    assert "[REDACTED]" in log


def test_no_secret_becomes_a_label_or_a_report_row(sandbox, tmp_path):
    key = "api-key-4411"
    port = free_port()
    locust = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "tests/support/locustfiles/leaky.py"),
         "--host", sandbox.url, "--headless", "-u", "2", "-r", "2", "-t", "6s",
         "--only-summary", "--metrics-port", str(port), "--html", "report.html",
         "--csv", "stats", "--json-file", "stats", "--metrics-final-file", "final.prom"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "SECURENET_API_KEY": key},
    )  # fmt: skip
    try:
        wait_until(lambda: "no-such-route" in scrape_text(port), 20, "the leaky requests")
        live = scrape_text(port)
        assert locust.wait(timeout=60) in (0, 1)
    finally:
        stop_process(locust)
    outputs = {path.name: path.read_text() for path in tmp_path.iterdir() if path.is_file()}
    assert {"report.html", "stats.json", "stats_stats.csv", "stats_failures.csv",
            "final.prom"} <= outputs.keys()  # fmt: skip
    assert "api_key=[REDACTED]" in outputs["final.prom"]
    assert "no-such-route" in outputs["stats_failures.csv"]
    for name, text in {**outputs, "/metrics": live}.items():
        assert key not in text, name


def test_a_failure_storm_is_logged_once_per_endpoint_reason_and_interval(start_sandbox, tmp_path):
    sandbox = start_sandbox()
    sandbox.set_fault(path_prefix="/api", outage=True)
    report = tmp_path / "storm"
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILES / "locustfile.py"),
         "--host", sandbox.url, "--headless", "-u", "8", "-r", "8", "-t", "8s",
         "--only-summary", "--metrics-port", str(free_port()), "--log-interval", "2",
         "--json-file", str(report), "HighVolumeUser"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    failure_lines = [e for e in events if e["event"] == "request_failures"]
    stats = json.loads(Path(f"{report}.json").read_text())
    failures = sum(entry["num_failures"] for entry in stats)
    # 8 users for 8 s: ~210 failures on an idle machine, fewer on a busy one.
    assert failures > 100, "a storm"
    # exact: the aggregated lines add up to every failure Locust counted
    assert sum(e["count"] for e in failure_lines) == failures
    endpoints_and_reasons = {(e["method"], e["endpoint"], e["reason"]) for e in failure_lines}
    intervals = 8 / 2 + 2
    assert len(failure_lines) <= len(endpoints_and_reasons) * intervals
    assert len(done.stderr.splitlines()) < failures / 5


def test_a_shape_drives_the_users_and_publishes_its_target(sandbox, tmp_path):
    """A diurnal day compressed into 16 s, in a real Locust process with --processes 2, for
    the shape's 40 s: every tick's target (Locust logs each change) goes from the trough to the
    peak, the runner's users follow, and the metric publishes the target of the moment."""
    metrics = free_port()
    locust = start_locust(
        LOCUSTFILES / "locustfile.py",
        *("--host", sandbox.url, "--headless", "-u", "6", "-r", "6", "--processes", "2"),
        *("--shape", "diurnal", "--shape-period", "16", "--shape-base-users", "0"),
        *("--shape-duration", "40", "--metrics-port", str(metrics), "--only-summary"),
        "HighVolumeUser",
        cwd=tmp_path,
    )
    # The ticks come from Locust's log, not from scrapes: on a loaded machine the scrapes are
    # seconds apart, and a sampled target once missed both peaks (saw 0-4 only).
    published = set()
    try:
        wait_until(lambda: probe(metrics, "/healthz") == 200, START_S, "/healthz")
        while locust.poll() is None:  # the shape ends the run
            try:
                text = scrape(metrics).text
            except requests.ConnectionError:
                # The shape's end: the endpoint goes a second before the process does (what was
                # "seen once in a loaded parallel phase" when a slow start ate the window).
                locust.wait(timeout=20)
                break
            target = sample_values(text, "loadgen_shape_target_users")
            assert set(target) == {frozenset({("shape", "diurnal")})}
            published.add(int(next(iter(target.values()))))
            time.sleep(0.5)
        locust.wait(timeout=30)
    finally:
        stop_process(locust)
    logged = [json.loads(line) for line in locust.stderr.read().splitlines() if line[:1] == "{"]
    ticks = [int(m.group(1)) for e in logged if (m := TICK.match(e["event"]))]
    spawned = [int(m.group(1)) for e in logged if (m := SPAWNED.search(e["event"]))]
    last_words = "\n".join(f"{e['timestamp']} {e['event']}" for e in logged[-20:])
    assert any(e["event"] == "Shape test stopping" for e in logged), last_words  # its end
    assert min(ticks) == 0 and max(ticks) == 6, ticks  # a trough and a peak
    assert min(spawned) <= 1 and max(spawned) >= 5, spawned  # the runner followed
    assert len(published) >= 2 and published <= set(ticks), (published, ticks)


TICK = re.compile(r"Shape test updating to (\d+) users")
SPAWNED = re.compile(r"All users spawned: .*\((\d+) total users\)")


def test_slow_requests_are_logged_per_endpoint_and_interval_with_exact_counts(
    start_sandbox, tmp_path
):
    sandbox = start_sandbox()
    sandbox.set_fault(path_prefix="/api", latency={"distribution": "fixed", "fixed_ms": 300})
    report = tmp_path / "slow"
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILES / "locustfile.py"),
         "--host", sandbox.url, "--headless", "-u", "4", "-r", "4", "-t", "6s",
         "--only-summary", "--metrics-port", str(free_port()), "--log-interval", "2",
         "--slow-request-seconds", "0.2", "--json-file", str(report), "HighVolumeUser"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    slow = [e for e in events if e["event"] == "slow_requests"]
    stats = json.loads(Path(f"{report}.json").read_text())
    requests_made = sum(e["num_requests"] for e in stats if e["method"] not in ("CUSTOM", "SYSTEM"))
    assert requests_made > 10
    # every request took 300 ms: every one is counted as slow, once, per endpoint and interval
    assert sum(e["count"] for e in slow) == requests_made
    assert all(0.2 <= e["slower_than_s"] < 0.21 for e in slow)
    assert len(slow) <= len({e["endpoint"] for e in slow}) * (6 / 2 + 2)
