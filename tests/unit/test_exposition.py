"""The formats /metrics answers in: which one a scraper gets, protobuf read back with the
`protobuf` package's own parser, and text escaping read back by prometheus_client's parsers."""

import random

import pytest
from google.protobuf.internal.decoder import _DecodeVarint32
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
from prometheus_client.parser import text_string_to_metric_families as text_format

from service.metrics.collectors.store import request_families, value_families
from service.metrics.exposition.family import Family
from service.metrics.exposition.negotiation import Format, accepts_gzip, choose_format
from service.metrics.exposition.proto.metrics_pb2 import MetricFamily, MetricType
from service.metrics.exposition.protobuf import ProtobufEncoder
from service.metrics.exposition.text import render
from service.metrics.native import ZERO_THRESHOLD
from service.metrics.store import MetricStore
from tests.unit.test_native_buckets import decode

# What Prometheus 2.42 sends, without and with --enable-feature=native-histograms.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
PROMETHEUS_NATIVE_ACCEPT = (
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,"
    "application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;"
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
HOSTILE = [
    'quote " inside',
    "back\\slash",
    "line\nfeed",
    "tab\tand\rcarriage",
    "ünïcødé ✓ 日本",
    'all \\" of \\n them\n"',
    "trailing backslash \\",
]


class Ok:
    status_code = 200


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (PROMETHEUS_NATIVE_ACCEPT, Format.PROTOBUF),
        (PROMETHEUS_ACCEPT, Format.OPENMETRICS),
        ("text/plain;version=0.0.4", Format.TEXT),
        ("", Format.TEXT),
        ("application/json", Format.TEXT),
        ("application/vnd.google.protobuf;proto=other;encoding=delimited", Format.TEXT),
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily", Format.TEXT),
        ("text/plain;q=0.9, application/openmetrics-text;q=0.5", Format.TEXT),
        ("application/openmetrics-text;q=0, text/plain", Format.TEXT),
        ("*/*", Format.TEXT),
    ],
)
def test_the_format_is_the_best_the_scraper_accepts(accept, expected):
    assert choose_format(accept) is expected


@pytest.mark.parametrize(
    ("header", "gzip"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("*", True),
        ("gzip;q=0", False),
        ("*, gzip;q=0", False),
        ("identity", False),
        ("", False),
    ],
)
def test_gzip_only_when_accepted(header, gzip):
    assert accepts_gzip(header) is gzip


def filled_store(names: list[str]) -> MetricStore:
    store, rng = MetricStore(), random.Random(4)
    for name in names:
        for _ in range(300):
            store.record_request("GET", name, rng.lognormvariate(3, 1), 100, None, Ok())
    store.record_request("GET", names[0], 0.0, 0, None, Ok())
    for value in (0, 3, 3, 50):
        store.record_value("threats_found", value)
    store.record_value("depth", -4.5)
    return store


def families(store: MetricStore) -> list[Family]:
    return [*request_families(store), *value_families(store)]


def parse(body: bytes) -> dict[str, MetricFamily]:
    parsed, position = {}, 0
    while position < len(body):
        size, position = _DecodeVarint32(body, position)
        family = MetricFamily.FromString(body[position : position + size])
        parsed[family.name] = family
        position += size
    return parsed


def test_protobuf_histograms_carry_classic_and_native_buckets_of_the_store():
    store = filled_store(["/a", "/b"])
    parsed = parse(ProtobufEncoder().encode(families(store)))
    duration = parsed["loadgen_request_duration_seconds"]
    assert duration.type == MetricType.HISTOGRAM
    for metric in duration.metric:
        labels = {pair.name: pair.value for pair in metric.label}
        series = store.requests[labels["method"]][labels["name"]]
        histogram = metric.histogram
        assert histogram.sample_count == series.requests
        assert histogram.sample_sum == pytest.approx(series.sum_s)
        assert [b.upper_bound for b in histogram.bucket] == list(store.layout.bounds)
        cumulative = [b.cumulative_count for b in histogram.bucket]
        assert cumulative == [sum(series.counts[: i + 1]) for i in range(len(cumulative))]
        assert histogram.schema == series.native.schema == 4
        assert histogram.zero_threshold == ZERO_THRESHOLD
        assert histogram.zero_count == series.native.zeros
        spans = [(s.offset, s.length) for s in histogram.positive_span]
        assert decode(spans, list(histogram.positive_delta)) == series.positive()
    assert parsed["loadgen_requests_total"].type == MetricType.COUNTER
    assert sum(m.counter.value for m in parsed["loadgen_requests_total"].metric) == 601
    depth = parsed["loadgen_custom_value"].metric[0].histogram
    assert [(s.offset, s.length) for s in depth.negative_span] and list(depth.negative_delta)


def test_the_encoder_reusing_its_messages_writes_what_a_new_one_writes():
    store = filled_store(["/a", "/b", "/c"])
    encoder = ProtobufEncoder()
    encoder.encode(families(store))
    rng = random.Random(5)
    for name in ("/b", "/d"):  # new counts, and a series that appears
        for _ in range(50):
            store.record_request("GET", name, rng.lognormvariate(4, 1), 10, None, Ok())

    def fresh() -> dict:
        return parse(ProtobufEncoder().encode(families(store)))

    assert parse(encoder.encode(families(store))) == fresh()
    del store.requests["GET"]["/a"]  # a series that goes away
    assert parse(encoder.encode(families(store))) == fresh()


def test_hostile_label_values_and_help_read_back_exactly_in_both_text_formats():
    family = Family("loadgen_demo", "counter", 'Help with "quotes", \\ and\nnewline.', ("name",))
    for number, name in enumerate(HOSTILE):
        family.add((name,), number)
    for openmetrics_format, parser in ((False, text_format), (True, openmetrics)):
        text = render([family], openmetrics=openmetrics_format).decode()
        (parsed,) = [f for f in parser(text) if f.name == "loadgen_demo"]
        assert parsed.documentation == family.help
        read = {sample.labels["name"]: sample.value for sample in parsed.samples}
        assert read == {name: float(number) for number, name in enumerate(HOSTILE)}


def test_hostile_label_values_read_back_exactly_from_protobuf():
    family = Family("loadgen_demo", "counter", "Help.", ("name",))
    for number, name in enumerate(HOSTILE):
        family.add((name,), number)
    (parsed,) = parse(ProtobufEncoder().encode([family])).values()
    assert [m.label[0].value for m in parsed.metric] == HOSTILE


def test_the_exposition_is_built_off_the_event_loop_thread():
    """The loop that times requests must not build the answer (it once did, unnoticed)."""
    import gevent
    from gevent import monkey

    from service.metrics.server import MetricsServer

    get_ident = monkey.get_original("threading", "get_ident")
    built_on = []

    class Collector:
        def collect(self):
            built_on.append(get_ident())
            return iter(())

    server = MetricsServer("127.0.0.1", 0, Collector())
    server.start()
    try:
        status, _headers, _ = gevent.spawn(server._metrics, {"HTTP_ACCEPT": ""}).get(timeout=10)
    finally:
        server.stop()
    assert status == "200 OK" and built_on and built_on[0] != get_ident()


def test_gzip_while_rendering_is_one_gzip_member_of_every_chunk():
    import gzip

    from service.metrics.exposition.compression import gzip_chunks

    chunks = [bytes(random.Random(n).randbytes(50_000)) + b"x" * 100_000 for n in range(20)]
    assert gzip.decompress(gzip_chunks(iter(chunks))) == b"".join(chunks)
    assert gzip.decompress(gzip_chunks(iter([]))) == b""


def test_a_failing_render_fails_the_scrape_and_stops_the_compressing_thread():
    from service.metrics.exposition.compression import gzip_chunks

    def failing():
        yield b"first"
        raise RuntimeError("render failed")

    with pytest.raises(RuntimeError, match="render failed"):
        gzip_chunks(failing())


def test_a_scrape_under_way_at_the_stop_is_not_the_final_scrape():
    """The linger waits for a scrape that began after the users stopped: one that began
    before renders the totals of before, even if it is answered after."""
    import gevent
    from gevent import monkey

    from service.metrics.server import MetricsServer

    release = monkey.get_original("threading", "Event")()

    class SlowCollector:
        def collect(self):
            release.wait(10)
            return iter(())

    server = MetricsServer("127.0.0.1", 0, SlowCollector())
    server.start()
    try:
        under_way = gevent.spawn(server._metrics, {"HTTP_ACCEPT": ""})
        gevent.sleep(0.2)  # it is rendering
        stopped_at = server.scrapes_begun
        release.set()
        under_way.get(timeout=10)
        assert stopped_at == 1 and server.latest_answered <= stopped_at
        gevent.spawn(server._metrics, {"HTTP_ACCEPT": ""}).get(timeout=10)
        assert server.latest_answered > stopped_at
    finally:
        server.stop()
