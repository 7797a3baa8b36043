"""Trace ids and sampling (`tracing.trace_ids`), and the exemplars they become: kept per
bucket in the store, written in OpenMetrics and protobuf (never in text 0.0.4), carried from
workers to the master."""

from __future__ import annotations

import math
import random
import re

import pytest
import requests
from locust.clients import HttpSession
from locust.contrib import fasthttp
from locust.contrib.fasthttp import FastHttpSession
from locust.event import EventHook
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
from requests.structures import CaseInsensitiveDict

from service.metrics.exposition.protobuf import ProtobufEncoder
from service.metrics.exposition.text import render
from service.metrics.store import MetricStore
from service.tracing import propagation, session_sends
from service.tracing.trace_ids import TraceIds, sampled_trace_id
from tests.unit.test_exposition import Ok, families, parse

OWN = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT_FORMAT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$")


def test_every_traceparent_is_w3c_and_its_ids_are_unique():
    ids = TraceIds(0.5)
    headers = [ids.next()[0] for _ in range(20_000)]
    assert all(TRACEPARENT_FORMAT.match(header) for header in headers)
    assert len({header[3:35] for header in headers}) == len(headers)
    assert len({header[36:52] for header in headers}) == len(headers)
    # A sampled request says so in its flags, and its trace id is the one returned.
    for _ in range(100):
        header, trace_id = ids.next()
        assert (trace_id is not None) == header.endswith("-01")
        assert trace_id is None or header[3:35] == trace_id


@pytest.mark.parametrize("ratio", [0.01, 0.1, 0.5])
def test_the_sampled_share_holds_within_binomial_bounds(ratio):
    n = 200_000
    ids = TraceIds(ratio, random.Random(7))
    sampled = sum(ids.next()[1] is not None for _ in range(n))
    sigma = math.sqrt(n * ratio * (1 - ratio))
    assert abs(sampled - n * ratio) < 4.5 * sigma, (sampled, n * ratio)


def test_ratio_zero_samples_none_and_one_samples_all():
    none, every = TraceIds(0.0), TraceIds(1.0)
    assert all(none.next()[1] is None for _ in range(10_000))
    assert all(every.next()[1] is not None for _ in range(10_000))
    with pytest.raises(ValueError):
        TraceIds(1.5)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"00-{OWN}-00f067aa0ba902b7-01", OWN),
        (f"00-{OWN.upper()}-00f067aa0ba902b7-03", OWN),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", None),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", None),
        ("00-xyz-00f067aa0ba902b7-01", None),
        ("garbage", None),
    ],
)  # fmt: skip
def test_a_scenarios_own_traceparent_is_read_for_its_sampled_flag(header, expected):
    assert sampled_trace_id(header) == expected


def store_with_exemplars() -> MetricStore:
    store = MetricStore()
    for ms in (1.0, 5.0, 200.0):
        store.record_request("GET", "/a", ms, 10, None, Ok())
    series = store.series("GET", "/a")
    store.record_exemplar(series, "a" * 32, 5.0, None)
    store.record_exemplar(series, "b" * 32, 200.0, None)
    return store


def exemplars_in_openmetrics(body: bytes) -> dict[str, tuple[str, float, float]]:
    """le -> (trace id, value, bucket bound) of each exemplar of the duration histogram."""
    found = {}
    for family in openmetrics(body.decode()):
        if family.name != "loadgen_request_duration_seconds":
            continue
        for sample in family.samples:
            if sample.exemplar is not None:
                le = sample.labels["le"]
                found[le] = (sample.exemplar.labels["trace_id"], sample.exemplar.value, float(le))
    return found


def test_exemplars_are_in_openmetrics_on_the_bucket_of_their_value_and_not_in_text():
    store = store_with_exemplars()
    found = exemplars_in_openmetrics(render(families(store), openmetrics=True))
    assert sorted(trace for trace, _v, _b in found.values()) == ["a" * 32, "b" * 32]
    bounds = store.layout.bounds
    for _trace, value, bound in found.values():
        below = max((b for b in bounds if b < bound), default=0.0)
        assert below < value <= bound
    assert b"trace_id" not in render(families(store), openmetrics=False)


def test_exemplars_are_in_protobuf_on_classic_buckets_and_the_native_histogram():
    store = store_with_exemplars()
    parsed = parse(ProtobufEncoder().encode(families(store)))
    (metric,) = parsed["loadgen_request_duration_seconds"].metric
    on_buckets = {
        b.exemplar.label[0].value: (b.exemplar.value, b.upper_bound)
        for b in metric.histogram.bucket
        if b.HasField("exemplar")
    }
    assert set(on_buckets) == {"a" * 32, "b" * 32}
    assert on_buckets["a" * 32][0] == 0.005 and on_buckets["b" * 32][0] == 0.2
    native = {e.label[0].value: e for e in metric.histogram.exemplars}
    assert set(native) == {"a" * 32, "b" * 32}
    assert all(e.timestamp.seconds > 1_600_000_000 for e in native.values())


def test_a_bucket_keeps_its_newest_exemplar_and_the_master_gets_the_workers():
    worker, master = MetricStore(), MetricStore()
    worker.record_request("GET", "/a", 5.0, 10, None, Ok())
    series = worker.series("GET", "/a")
    worker.record_exemplar(series, "a" * 32, 5.0, None)
    worker.record_exemplar(series, "c" * 32, 5.01, None)  # same bucket, newer
    master.merge(worker.drain())
    found = exemplars_in_openmetrics(render(families(master), openmetrics=True))
    assert [trace for trace, _v, _b in found.values()] == ["c" * 32]
    # A later report without exemplars leaves the master's in place.
    worker.record_request("GET", "/a", 5.0, 10, None, Ok())
    master.merge(worker.drain())
    assert exemplars_in_openmetrics(render(families(master), openmetrics=True)) == found


def test_open_mode_exemplars_of_the_corrected_family_add_the_start_delay():
    store = MetricStore()
    store.enable_arrivals()
    store.record_request("GET", "/a", 5.0, 10, None, Ok())
    series = store.series("GET", "/a")
    store.corrected_series(series).observe(0.505)
    store.record_exemplar(series, "d" * 32, 5.0, 0.5)
    body = render(families(store), openmetrics=True).decode()
    corrected = [
        sample.exemplar
        for family in openmetrics(body)
        if family.name == "loadgen_request_corrected_duration_seconds"
        for sample in family.samples
        if sample.exemplar is not None
    ]
    assert [(e.labels["trace_id"], e.value) for e in corrected] == [("d" * 32, 0.505)]


class _RefusingClient:
    """A FastHttpSession client whose connection is refused, as Locust's send sees it."""

    def __init__(self) -> None:
        self.sent: dict = {}

    def urlopen(self, url, method, **kwargs):
        self.sent = kwargs["headers"]
        raise ConnectionRefusedError(111, "refused")

    def _make_request(self, url, method, headers, payload, params):
        return fasthttp.CompatRequest(url, method=method, headers=headers, payload=payload)


def test_the_re_implemented_fast_send_fails_as_locusts_does_and_adds_the_header():
    client = _RefusingClient()
    session = type("Session", (), {"client": client})()
    original = propagation._ORIGINAL_FAST_SEND
    assert session_sends.copies_locusts(original, session_sends.FAST_SEND_NAMES)
    held = []
    send = session_sends.fast_send(TraceIds(1.0).source(), held.append, lambda h: None)
    ours = send(session, "GET", "http://127.0.0.1:9/x", payload=None, headers={})
    assert TRACEPARENT_FORMAT.match(client.sent["traceparent"])
    assert held == [client.sent["traceparent"][3:35]]  # sampled: its trace id waits
    theirs = original(session, "GET", "http://127.0.0.1:9/x", payload=None, headers={})
    assert type(ours) is type(theirs) is fasthttp.ErrorResponse
    assert repr(ours.error) == repr(theirs.error)


def test_a_locust_whose_send_differs_gets_the_wrapper(monkeypatch):
    def other_send(session, method, url, **kwargs):  # not Locust's body: other names
        return ("sent", kwargs["headers"])

    monkeypatch.setattr(propagation, "_ORIGINAL_FAST_SEND", other_send)
    propagation.install(TraceIds(0.0))
    try:
        sent = FastHttpSession._send_request_safe_mode(None, "GET", "/", payload=None, headers={})
    finally:
        monkeypatch.undo()
        propagation.uninstall()
    assert sent[0] == "sent" and TRACEPARENT_FORMAT.match(sent[1]["traceparent"])
    assert FastHttpSession._send_request_safe_mode is propagation._ORIGINAL_FAST_SEND


def _answered(prepared: list):
    """requests' Session.send with the network replaced: it keeps the request as requests
    built it and answers 200 at once."""

    def send(session, request, **kwargs):
        prepared.append(request)
        response = requests.Response()
        response.status_code, response._content, response.request = 200, b"", request
        return response

    return send


@pytest.mark.parametrize("ratio", [0.0, 1.0])
def test_an_httpuser_request_gets_the_header_where_requests_builds_it(monkeypatch, ratio):
    prepared = []
    monkeypatch.setattr(requests.Session, "send", _answered(prepared))
    propagation.install(TraceIds(ratio))
    try:
        session = HttpSession("http://127.0.0.1:9", EventHook(), None)
        send = session.request  # Locust's, unchanged
        scenarios = {"X-API-Key": "k"}
        send("GET", "/a", headers=scenarios)
        generated = propagation.take_sampled_trace()
        send("GET", "/b")
        propagation.take_sampled_trace()
        own = f"00-{OWN}-00f067aa0ba902b7-01"
        send("GET", "/c", headers={"TraceParent": own})
        held = propagation.take_sampled_trace()
        send("GET", "/d", headers=CaseInsensitiveDict({"TRACEPARENT": own}))
        session.headers["Traceparent"] = own
        send("GET", "/e", headers=scenarios)
    finally:
        propagation.uninstall()
    headers = [request.headers for request in prepared]
    # The scenario's dict, reused by its next request, is left as it was.
    assert scenarios == {"X-API-Key": "k"} and headers[0]["X-API-Key"] == "k"
    assert TRACEPARENT_FORMAT.match(headers[0]["traceparent"])
    assert TRACEPARENT_FORMAT.match(headers[1]["traceparent"])
    assert headers[0]["traceparent"] != headers[1]["traceparent"]
    assert generated == (headers[0]["traceparent"][3:35] if ratio else None)
    # Its own traceparent, in any spelling, on the request or the session, is kept as it is
    # (and held, when sampled); requests sends one header of that name.
    for request in headers[2:]:
        assert request["traceparent"] == own
        assert sum(name.lower() == "traceparent" for name in request) == 1
    assert held == OWN
    assert HttpSession.prepare_request is propagation._ORIGINAL_PREPARE  # uninstalled


def test_a_locust_whose_prepare_request_differs_gets_it_wrapped(monkeypatch):
    def other_prepare(session, request):  # not Locust's body: other names
        prepared = requests.Session.prepare_request(session, request)
        prepared.headers["X-Other"] = "kept"
        return prepared

    assert not session_sends.copies_locusts(other_prepare, session_sends.PREPARE_NAMES)
    monkeypatch.setattr(propagation, "_ORIGINAL_PREPARE", other_prepare)
    propagation.install(TraceIds(0.0))
    try:
        session = HttpSession("http://127.0.0.1:9", EventHook(), None)
        prepared = session.prepare_request(requests.Request("GET", "http://127.0.0.1:9/a"))
    finally:
        monkeypatch.undo()
        propagation.uninstall()
    assert HttpSession.prepare_request is propagation._ORIGINAL_PREPARE
    assert prepared.headers["X-Other"] == "kept"
    assert TRACEPARENT_FORMAT.match(prepared.headers["traceparent"])
