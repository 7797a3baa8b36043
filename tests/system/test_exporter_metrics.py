"""The exposition: formats, pseudo-requests, custom values, the cardinality budget,
monotonic counters across a stats reset, a taken port, listener errors."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics

from tests.support.processes import (
    LOCUSTFILES,
    ROOT,
    START_S,
    free_port,
    locust_totals,
    metrics_answer,
    requests_by_endpoint,
    sample_values,
    scrape,
    start_locust,
    stop_process,
    wait_until,
)

SYNTHETIC = str(ROOT / "tests" / "support" / "locustfiles" / "synthetic.py")


def synthetic_run(tmp_path: Path, seconds: int, env=None, *extra: str) -> tuple[str, str]:
    """Run the synthetic locustfile to its end; (final exposition, stderr)."""
    final = tmp_path / "final.prom"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            SYNTHETIC,
            "--headless",
            "-u",
            "2",
            "-r",
            "2",
            "-t",
            f"{seconds}s",
            "--metrics-port",
            str(free_port()),
            "--metrics-final-file",
            str(final),
            *extra,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    return final.read_text(), done.stderr


def test_text_and_openmetrics_parse_and_pass_promtool(sandbox, tmp_path):
    port = free_port()
    process = start_locust(
        str(LOCUSTFILES / "locustfile.py"),
        "--host",
        sandbox.url,
        "--headless",
        "-u",
        "6",
        "-r",
        "6",
        "-t",
        "20s",
        "--metrics-port",
        str(port),
        cwd=tmp_path,
    )
    try:
        wait_until(lambda: metrics_answer(port), START_S, "the metrics endpoint")
        time.sleep(4)
        text = scrape(port)
        assert text.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert requests_by_endpoint(text.text)
        check = subprocess.run(
            ["promtool", "check", "metrics"], input=text.text, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr
        # What a Prometheus server asks for.
        om = scrape(port, "application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
        assert om.headers["Content-Type"].startswith("application/openmetrics-text")
        assert om.text.endswith("# EOF\n")
        names = {family.name for family in openmetrics(om.text)}
        assert {"loadgen_requests", "loadgen_request_duration_seconds", "loadgen"} <= names
    finally:
        stop_process(process)


def test_pseudo_requests_stay_out_of_http_families_and_custom_values_are_exported(tmp_path):
    text, _ = synthetic_run(tmp_path, 4)
    methods = {dict(labels)["method"] for labels in sample_values(text, "loadgen_requests_total")}
    assert methods == {"GET"}
    assert "cpu_usage" not in text and 'threats_found"' not in text
    # The seed's CUSTOM threats_found pattern feeds its own family...
    found = sample_values(text, "loadgen_threats_found_count")[frozenset()]
    assert found > 10
    assert sample_values(text, "loadgen_threats_seen_total")[frozenset()] == 7 * found
    # ...and the public API feeds loadgen_custom_value.
    depth = sample_values(text, "loadgen_custom_value_count")[frozenset({("name", "queue_depth")})]
    assert depth == found


def test_a_listener_error_never_kills_a_user_or_the_run(tmp_path):
    text, stderr = synthetic_run(tmp_path, 4, None, "--exit-code-on-error", "3")
    assert sample_values(text, "loadgen_exporter_errors_total")[frozenset()] > 10
    # Requests after the broken one were still recorded: the users kept running.
    made = requests_by_endpoint(text)[("GET", "/synthetic")][0]
    assert made == sample_values(text, "loadgen_exporter_errors_total")[frozenset()]
    assert "Uncaught exception in event handler" not in stderr


def test_cardinality_budget_folds_100000_unique_names(tmp_path):
    text, stderr = synthetic_run(
        tmp_path,
        25,
        {"SYNTHETIC_UNIQUE_NAMES": "100000"},
        "--metrics-max-series",
        "50",
        "--metrics-max-reasons",
        "5",
        "--json-file",
        str(tmp_path / "stats"),
    )
    endpoints = requests_by_endpoint(text)
    # Folded before Locust's own stats too: its tables (and memory) hold the same 51 names.
    # (/broken is the exporter's own error case: its status cannot be read, so not counted.)
    by_locust = locust_totals(tmp_path / "stats.json")
    assert by_locust.keys() == endpoints.keys()
    assert {k: v for k, v in by_locust.items() if k[1] != "/broken"} == {
        k: v for k, v in endpoints.items() if k[1] != "/broken"
    }
    # No console table off a terminal: every stderr line is one JSON object.
    assert all(json.loads(line) for line in stderr.splitlines() if line.strip())
    assert len(stderr) < 100_000
    assert len(endpoints) == 50 + 1  # the budget, plus the one overflow series
    folded_made, _ = endpoints[("GET", "__other__")]
    assert folded_made > 90_000
    dropped = sample_values(text, "loadgen_series_dropped_total")
    assert dropped[frozenset({("kind", "request")})] == folded_made
    assert sample_values(text, "loadgen_series")[frozenset({("kind", "request")})] == 50
    # Failure messages with ids reduce to one reason class; the budget holds reasons too.
    reasons = {
        dict(k)["reason"] for k in sample_values(text, "loadgen_request_failure_reasons_total")
    }
    assert reasons == {"RuntimeError"}
    assert stderr.count("cardinality_budget_exhausted") == 1


def test_counters_never_go_backwards_when_locust_resets_its_stats(sandbox, tmp_path):
    port, web = free_port(), free_port()
    process = start_locust(
        str(LOCUSTFILES / "locustfile.py"),
        "--host",
        sandbox.url,
        "--autostart",
        "-u",
        "6",
        "-r",
        "6",
        "--web-port",
        str(web),
        "--metrics-port",
        str(port),
        "HighVolumeUser",
        cwd=tmp_path,
    )
    try:
        wait_until(lambda: metrics_answer(port), START_S, "the metrics endpoint")
        time.sleep(4)
        before = requests_by_endpoint(scrape(port).text)
        assert requests.post(f"http://127.0.0.1:{web}/stats/reset", timeout=5).ok
        locust_after = requests.get(f"http://127.0.0.1:{web}/stats/requests", timeout=5).json()
        total = next(s for s in locust_after["stats"] if s["name"] == "Aggregated")
        assert total["num_requests"] < sum(made for made, _ in before.values())
        time.sleep(2)
        after = requests_by_endpoint(scrape(port).text)
        for endpoint, (made, failed) in before.items():
            assert after[endpoint][0] > made and after[endpoint][1] >= failed
    finally:
        stop_process(process)


def test_a_taken_metrics_port_is_one_line_before_any_load(sandbox, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(LOCUSTFILES / "locustfile.py"),
                "--host",
                sandbox.url,
                "--headless",
                "-u",
                "2",
                "-t",
                "5s",
                "--metrics-port",
                str(port),
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert done.stderr == (
        f"securenet-loadgen: error: metrics port {port} on 127.0.0.1 is not available: "
        "Address already in use\n"
    )
