"""Free text from user code (request names, failure messages, custom value names) with quotes,
backslashes, line breaks, tabs and non-ASCII, through a real run: every format parses with
Prometheus' own parser (promtool, and real servers scraping text, OpenMetrics and protobuf) and
with prometheus_client's, and every name reads back exactly."""

from __future__ import annotations

import gzip
import subprocess
import time

import requests
from google.protobuf.internal.decoder import _DecodeVarint32
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics

from service.metrics.exposition.proto.metrics_pb2 import MetricFamily
from tests.support.locustfiles.hostile import HOSTILE_NAMES
from tests.support.processes import (
    ROOT,
    START_S,
    free_port,
    metrics_answer,
    sample_values,
    start_locust,
    stop_process,
    wait_until,
)
from tests.support.prometheus_stack import ScrapingPrometheus

HOSTILE = ROOT / "tests" / "support" / "locustfiles" / "hostile.py"
EXPECTED = {*HOSTILE_NAMES, *(f"fail {name}" for name in HOSTILE_NAMES)}
OPENMETRICS = "application/openmetrics-text;version=1.0.0"
PROTOBUF = (
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
)


def get(port: int, accept: str) -> requests.Response:
    response = requests.get(
        f"http://127.0.0.1:{port}/metrics",
        headers={"Accept": accept, "Accept-Encoding": "gzip"},
        timeout=10,
        stream=True,
    )
    response.raise_for_status()
    assert response.headers["Content-Encoding"] == "gzip"
    return response


def body(response: requests.Response) -> bytes:
    """The body as sent (gzip), uncompressed here rather than by requests."""
    return gzip.decompress(response.raw.read(decode_content=False))


def request_names_in_protobuf(data: bytes) -> set[str]:
    names, position = set(), 0
    while position < len(data):
        size, position = _DecodeVarint32(data, position)
        family = MetricFamily.FromString(data[position : position + size])
        position += size
        if family.name == "loadgen_requests_total":
            for metric in family.metric:
                names |= {pair.value for pair in metric.label if pair.name == "name"}
    return names


def test_hostile_names_parse_in_every_format_and_read_back_exactly(sandbox, tmp_path):
    port = free_port()
    scrapers = [
        ScrapingPrometheus(tmp_path, port, native_histograms=native).start()
        for native in (True, False)
    ]
    process = start_locust(
        HOSTILE,
        *f"--host {sandbox.url} --headless -u 2 -r 2 -t 30s --metrics-port {port}".split(),
        cwd=tmp_path,
    )
    try:
        wait_until(lambda: metrics_answer(port), START_S, "the metrics endpoint")
        time.sleep(5)
        text = body(get(port, "text/plain;version=0.0.4")).decode()
        names = {dict(labels)["name"] for labels in sample_values(text, "loadgen_requests_total")}
        assert names == EXPECTED
        check = subprocess.run(
            ["promtool", "check", "metrics"], input=text, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr

        families = list(openmetrics(body(get(port, OPENMETRICS)).decode()))
        (custom,) = [f for f in families if f.name == "loadgen_custom_value"]
        assert {s.labels["name"] for s in custom.samples} == set(HOSTILE_NAMES)
        (made,) = [f for f in families if f.name == "loadgen_requests"]
        assert {s.labels["name"] for s in made.samples if s.name.endswith("_total")} == EXPECTED

        assert request_names_in_protobuf(body(get(port, PROTOBUF))) == EXPECTED

        # Real servers: the protobuf (native) and the OpenMetrics scrape succeed, and store
        # every name as it was given.
        time.sleep(3)
        for prometheus in scrapers:
            target = prometheus.target()
            assert target["health"] == "up" and target["lastError"] == "", target
            stored = prometheus.query("group by (name) (loadgen_requests_total)")
            assert {series["metric"]["name"] for series in stored} == EXPECTED
            custom = prometheus.query("group by (name) (loadgen_custom_value_count)")
            if prometheus.native_histograms:  # one native series, no _count
                custom = prometheus.query("group by (name) (loadgen_custom_value)")
            assert {series["metric"]["name"] for series in custom} == set(HOSTILE_NAMES)
    finally:
        stop_process(process)
        for prometheus in scrapers:
            prometheus.stop()
