"""The Prometheus protobuf exposition: length-delimited `MetricFamily` messages, histograms as
native histograms with their classic buckets beside them.

The messages are the `protobuf` package's, generated from Prometheus' `metrics.proto`. Built
afresh, a full-budget scrape (500 request series x 230 classic buckets) takes ~65 ms here,
most of it creating 115,000 bucket messages. The encoder therefore keeps each family's message
from one scrape to the next and only writes the numbers (~15 ms); a family is built again when
its set of series changes other than by growing. Not thread-safe: one scrape at a time (the
metrics server renders on a single thread).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import accumulate
from typing import Any

from service.metrics.exposition.family import Family, HistogramSample
from service.metrics.exposition.proto.metrics_pb2 import MetricFamily, MetricType
from service.metrics.native import ZERO_THRESHOLD, NativeSnapshot, spans_and_deltas

PROTOBUF_CONTENT_TYPE = (
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
)
_TYPES = {
    "counter": MetricType.COUNTER,
    "gauge": MetricType.GAUGE,
    "info": MetricType.GAUGE,
    "histogram": MetricType.HISTOGRAM,
}


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _set_native(histogram: Any, native: NativeSnapshot) -> None:
    histogram.schema = native.schema
    histogram.zero_threshold = ZERO_THRESHOLD
    histogram.zero_count = native.zeros
    for spans_field, deltas_field, buckets in (
        (histogram.positive_span, histogram.positive_delta, native.positive),
        (histogram.negative_span, histogram.negative_delta, native.negative),
    ):
        spans, deltas = spans_and_deltas(buckets)
        del spans_field[:]
        for offset, length in spans:
            spans_field.add(offset=offset, length=length)
        del deltas_field[:]
        deltas_field.extend(deltas)


def _exemplar(message: Any, exemplar: tuple[str, float, float]) -> None:
    trace_id, value, at = exemplar
    del message.label[:]
    message.label.add(name="trace_id", value=trace_id)
    message.value = value
    seconds = int(at)
    message.timestamp.seconds, message.timestamp.nanos = seconds, int((at - seconds) * 1e9)


def _set_exemplars(histogram: Any, buckets: list, exemplars: list, native: bool) -> None:
    """Each classic bucket's exemplar, and all of them again for the native histogram (which
    carries its own list, with timestamps). A bucket's exemplar is only ever replaced by a
    newer one, so a cached message never holds one that should be gone."""
    for bucket, exemplar in zip(buckets, exemplars, strict=False):  # +Inf: native only
        if exemplar is not None:
            _exemplar(bucket.exemplar, exemplar)
    if not native:
        return
    del histogram.exemplars[:]
    for exemplar in exemplars:
        if exemplar is not None:
            _exemplar(histogram.exemplars.add(), exemplar)


class _CachedFamily:
    """One family's message, and for each of its metrics what holds the numbers."""

    def __init__(self, family: Family) -> None:
        self.kind = family.kind
        self.message = MetricFamily(
            name=family.sample_name, help=family.help, type=_TYPES.get(family.kind)
        )
        self.keys: list[tuple[str, ...]] = []
        self.holders: list[Any] = []

    def update(self, family: Family) -> bytes:
        keys = [tuple(sample[0]) for sample in family.samples]
        known = len(self.keys)
        if keys[:known] != self.keys:
            del self.message.metric[:]
            self.keys, self.holders, known = [], [], 0
        for values in keys[known:]:
            self._add(family, values)
        self.keys = keys
        if self.kind == "histogram":
            for (histogram, buckets), sample in zip(self.holders, family.samples, strict=True):
                self._set_histogram(histogram, buckets, sample)
        else:
            for holder, (_values, value) in zip(self.holders, family.samples, strict=True):
                holder.value = value
        body = self.message.SerializeToString()
        return _varint(len(body)) + body

    def _add(self, family: Family, values: tuple[str, ...]) -> None:
        metric = self.message.metric.add()
        for name, value in zip(family.label_names, values, strict=True):
            metric.label.add(name=name, value=str(value))
        if self.kind == "histogram":
            histogram = metric.histogram
            bounds = family.layout.bounds if family.layout else ()
            for bound in bounds:
                histogram.bucket.add(upper_bound=bound)
            self.holders.append((histogram, list(histogram.bucket)))
        elif self.kind == "counter":
            self.holders.append(metric.counter)
        else:
            self.holders.append(metric.gauge)

    @staticmethod
    def _set_histogram(histogram: Any, buckets: list, sample: HistogramSample) -> None:
        cumulative = list(accumulate(sample.counts))
        histogram.sample_count = cumulative[-1]
        histogram.sample_sum = sample.total
        # The +Inf bucket is left out, as the format allows: it is the sample count.
        for bucket, count in zip(buckets, cumulative[:-1], strict=True):
            bucket.cumulative_count = count
        if sample.native is not None:
            _set_native(histogram, sample.native)
        if sample.exemplars:
            _set_exemplars(histogram, buckets, sample.exemplars, sample.native is not None)


class ProtobufEncoder:
    def __init__(self) -> None:
        self._families: dict[str, _CachedFamily] = {}

    def encode(self, families: Iterable[Family]) -> bytes:
        return b"".join(self.encode_chunks(families))

    def encode_chunks(self, families: Iterable[Family]) -> Iterator[bytes]:
        """Each family's delimited message, as it is written."""
        seen: dict[str, _CachedFamily] = {}
        for family in families:
            if not family.samples:  # a family without metrics is not sent in this format
                continue
            cached = self._families.get(family.name)
            if cached is None or cached.kind != family.kind:
                cached = _CachedFamily(family)
            seen[family.name] = cached
            yield cached.update(family)
        self._families = seen
