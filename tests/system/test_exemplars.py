"""From a slow bucket to the request behind it: a real Prometheus with exemplar storage
scrapes a run (OpenMetrics, and protobuf with native histograms); the exemplars of the slow
endpoint's slow buckets name trace ids whose requests the sandbox recorded, with server
times inside those buckets. On a master, the workers' exemplars arrive in its /metrics."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics

from tests.support.processes import (
    ADMIN_KEY,
    ROOT,
    START_S,
    free_port,
    metrics_answer,
    start_locust,
    stop_process,
    wait_until,
)
from tests.support.prometheus_stack import ScrapingPrometheus

TRACED = ROOT / "tests" / "support" / "locustfiles" / "traced.py"
OWN_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SLOW_MS = 300
SLOW = '{name=~".*-slow-.*"}'


@pytest.fixture
def slow_sandbox(sandbox):
    sandbox.set_fault(
        path_prefix="/api/slow", latency={"distribution": "fixed", "fixed_ms": SLOW_MS}
    )
    yield sandbox
    sandbox.clear_faults()


def run_args(host: str, port: int, seconds: int = 20) -> list[str]:
    return ["--host", host, "-u", "6", "-r", "6", "-t", f"{seconds}s", "--autostart",
            "--autoquit", "60", "--web-host", "127.0.0.1", "--web-port", str(free_port()),
            "--metrics-port", str(port), "--trace-sample-ratio", "0.2"]  # fmt: skip


def recorded(sandbox, trace_id: str) -> dict | None:
    # Without the admin key: the link a dashboard's exemplar opens in a browser.
    response = requests.get(f"{sandbox.url}/_sandbox/requests/{trace_id}", timeout=5)
    return response.json() if response.ok else None


def slow_exemplars(prometheus: ScrapingPrometheus, series: str, since: float) -> list[tuple]:
    """(trace id, value, bucket's upper bound or None) of the slow endpoints' exemplars."""
    found = []
    for entry in prometheus.query_exemplars(f"{series}{SLOW}", since, time.time()):
        le = entry["seriesLabels"].get("le")
        for exemplar in entry["exemplars"]:
            bound = float(le) if le not in (None, "+Inf") else None
            found.append((exemplar["labels"]["trace_id"], float(exemplar["value"]), bound))
    return found


@pytest.mark.long(minutes=0.8)
def test_exemplars_of_the_slow_buckets_lead_to_the_sandboxs_record_of_the_request(
    slow_sandbox, tmp_path: Path
):
    port = free_port()
    scrapers = [
        ScrapingPrometheus(tmp_path, port, native_histograms=native, exemplars=True).start()
        for native in (False, True)
    ]
    started = time.time()
    process = start_locust(TRACED, *run_args(slow_sandbox.url, port), cwd=tmp_path)
    try:
        wait_until(lambda: metrics_answer(port), START_S, "the metrics endpoint")
        classic, native = scrapers
        buckets = "loadgen_request_duration_seconds_bucket"
        wait_until(
            lambda: len(slow_exemplars(classic, buckets, started)) >= 4,
            40, "exemplars of the slow endpoints in the OpenMetrics scrape",
        )  # fmt: skip
        found = slow_exemplars(classic, buckets, started)
        print("query_exemplars (OpenMetrics):", found[:3])
        for trace_id, value, bound in found:
            assert value >= SLOW_MS / 1000, (trace_id, value)
            record = recorded(slow_sandbox, trace_id)
            assert record is not None, f"the sandbox has no request of trace {trace_id}"
            assert record["path"] == "/api/slow" and record["sampled"], record
            # The server's time is the client's less the network: inside the same bucket.
            assert SLOW_MS / 1000 <= record["duration_seconds"] <= value <= bound, (record, value)

        # Both session kinds sent sampled traces (each kind's first exemplar reaches Prometheus
        # at its own scrape: on a loaded machine the second can come seconds after the others).
        def session_kinds() -> set[str]:
            return {
                e["seriesLabels"]["name"].split("-")[0]
                for e in classic.query_exemplars(
                    f"loadgen_request_duration_seconds_bucket{SLOW}", started, time.time()
                )
            }

        wait_until(lambda: session_kinds() == {"requests", "fast"}, 30, "both session kinds")
        # A scenario's own sampled traceparent is kept, and its trace id is the exemplar.
        own = classic.query_exemplars(
            'loadgen_request_duration_seconds_bucket{name="own"}', started, time.time()
        )
        assert {x["labels"]["trace_id"] for e in own for x in e["exemplars"]} == {OWN_TRACE_ID}
        # Protobuf: the native histogram's series carries them too.
        wait_until(
            lambda: slow_exemplars(native, "loadgen_request_duration_seconds", started)
            or slow_exemplars(native, "loadgen_request_duration_seconds_bucket", started),
            20, "exemplars in the protobuf scrape",
        )  # fmt: skip
        from_protobuf = slow_exemplars(
            native, "loadgen_request_duration_seconds", started
        ) + slow_exemplars(native, "loadgen_request_duration_seconds_bucket", started)
        print("query_exemplars (protobuf):", from_protobuf[:3])
        for trace_id, value, _bound in from_protobuf:
            record = recorded(slow_sandbox, trace_id)
            assert record is not None and record["duration_seconds"] <= value, (trace_id, record)
        # Text 0.0.4 has no exemplars; OpenMetrics has them.
        plain = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert "trace_id" not in plain
    finally:
        stop_process(process)
        for prometheus in scrapers:
            prometheus.stop()


@pytest.mark.long(minutes=0.6)
def test_a_masters_metrics_carry_the_exemplars_of_every_worker(slow_sandbox, tmp_path: Path):
    port, master_port = free_port(), free_port()
    master = start_locust(
        TRACED, *run_args(slow_sandbox.url, port, seconds=15), "--master", "--expect-workers",
        "2", "--master-bind-port", str(master_port), cwd=tmp_path,
    )  # fmt: skip
    # The workers send the requests: the sample ratio is theirs to set.
    worker_args = ("--worker", "--master-port", str(master_port), "--trace-sample-ratio", "0.2")
    workers = [start_locust(TRACED, *worker_args, cwd=tmp_path) for _ in range(2)]
    try:
        wait_until(lambda: metrics_answer(port), START_S, "the master's metrics endpoint")

        def processes_with_exemplars() -> set[str]:
            text = requests.get(
                f"http://127.0.0.1:{port}/metrics",
                headers={"Accept": "application/openmetrics-text; version=1.0.0"},
                timeout=5,
            ).text
            return {
                sample.labels["name"].rsplit("-", 1)[1]
                for family in openmetrics(text)
                if family.name == "loadgen_request_duration_seconds"
                for sample in family.samples
                if sample.exemplar is not None and "pid" in sample.labels["name"]
            }

        # Workers start slowly on a busy machine, and the run starts once both are there.
        wait_until(lambda: len(processes_with_exemplars()) == 2, 90, "both workers' exemplars")
    finally:
        for process in (master, *workers):
            stop_process(process)


def traced(sandbox) -> dict:
    response = requests.get(
        f"{sandbox.url}/_sandbox/requests",
        params={"limit": 1000},
        headers={"X-Sandbox-Admin-Key": ADMIN_KEY},
        timeout=5,
    )
    response.raise_for_status()
    return response.json()


@pytest.mark.parametrize("off", [["--trace-context", "off"], ["--no-trace-context"]])
def test_trace_context_off_sends_no_traceparent(start_sandbox, tmp_path: Path, off):
    sandbox = start_sandbox()  # its own: no other test's requests
    process = start_locust(
        TRACED, "--headless", "RequestsUser", "FastUser", *run_args(sandbox.url, free_port(), 4),
        *off, "--exit-code-on-error", "0", cwd=tmp_path,
    )  # fmt: skip
    assert process.wait(timeout=60) == 0, process.stderr.read()
    assert traced(sandbox)["seen"] == 0


def test_the_sampled_share_the_target_sees_holds_in_every_session_kind(start_sandbox, tmp_path):
    """--processes 2: each forked process sends its own ids at the ratio asked for."""
    sandbox = start_sandbox()
    process = start_locust(
        TRACED, "--headless", "RequestsUser", "FastUser", *run_args(sandbox.url, free_port(), 6),
        "--processes", "2", "--exit-code-on-error", "0", cwd=tmp_path,
    )  # fmt: skip
    assert process.wait(timeout=60) == 0, process.stderr.read()
    records = [r for r in traced(sandbox)["requests"] if r["trace_id"] != OWN_TRACE_ID]
    n, sampled = len(records), sum(r["sampled"] for r in records)
    assert n >= 300, n
    sigma = (n * 0.2 * 0.8) ** 0.5
    assert abs(sampled - 0.2 * n) < 4.5 * sigma, (sampled, n)
    assert len({r["trace_id"] for r in records}) == n  # unique per request


def test_open_mode_exemplars_are_on_the_corrected_family_too(slow_sandbox, tmp_path: Path):
    """Open mode: the corrected durations carry the sampled requests as well, each at least
    the time Locust measured for the same trace id (it adds the start delay)."""
    port = free_port()
    process = start_locust(
        TRACED, "--headless", "RequestsUser", "FastUser", *run_args(slow_sandbox.url, port, 20),
        "--arrival-rate", "20", "--exit-code-on-error", "0", cwd=tmp_path,
    )  # fmt: skip
    try:
        wait_until(lambda: metrics_answer(port), START_S, "the metrics endpoint")

        def exemplars() -> dict[str, dict[str, float]]:
            text = requests.get(
                f"http://127.0.0.1:{port}/metrics",
                headers={"Accept": "application/openmetrics-text; version=1.0.0"},
                timeout=5,
            ).text
            found: dict[str, dict[str, float]] = {}
            for family in openmetrics(text):
                for sample in family.samples:
                    if sample.exemplar is not None:
                        trace_id = sample.exemplar.labels["trace_id"]
                        found.setdefault(family.name, {})[trace_id] = sample.exemplar.value
            return found

        wait_until(
            lambda: len(exemplars().get("loadgen_request_corrected_duration_seconds", {})) >= 3,
            40, "exemplars of the corrected family",
        )  # fmt: skip
        found = exemplars()
        measured = found["loadgen_request_duration_seconds"]
        corrected = found["loadgen_request_corrected_duration_seconds"]
        both = set(measured) & set(corrected)
        assert both, (measured, corrected)
        assert all(corrected[trace] >= measured[trace] for trace in both)
    finally:
        stop_process(process)
