"""Native histogram buckets: the bound they keep, their index, merging at another schema, and
their protobuf spans."""

import math
import random

import pytest

from service.metrics.native import (
    NativeBuckets,
    bucket_error,
    downscaled,
    index,
    schema_for,
    spans_and_deltas,
)
from service.metrics.store import MetricStore, StoreLimits


class Ok:
    status_code = 200


@pytest.mark.parametrize("error", [0.01, 0.02, 0.05, 0.1, 0.5, 1.0])
def test_the_schema_is_the_coarsest_within_the_error(error):
    schema = schema_for(error)
    assert bucket_error(schema) <= error
    assert schema == -4 or bucket_error(schema - 1) > error


def test_the_default_error_gives_schema_4():
    assert schema_for(0.05) == 4 and bucket_error(4) < 0.045


@pytest.mark.parametrize("schema", [-2, 0, 3, 4, 8])
def test_each_value_falls_in_the_bucket_whose_bounds_hold_it(schema):
    rng = random.Random(schema)
    base = 2 ** (2**-schema)
    for _ in range(20_000):
        value = rng.lognormvariate(-3, 3)
        key = index(value, 2.0**schema)
        # (base^(key-1), base^key], with a hair of float slack at the edges
        assert base ** (key - 1) * (1 - 1e-12) < value <= base**key * (1 + 1e-12)


def test_powers_of_two_are_exact_bucket_edges():
    for schema in (0, 4, 8):
        scale = 2.0**schema
        assert index(1.0, scale) == 0
        assert index(2.0, scale) == scale
        assert index(0.5, scale) == -scale
        assert index(math.nextafter(1.0, 2.0), scale) == 1


def test_downscaling_equals_observing_at_the_lower_schema():
    rng = random.Random(1)
    values = [rng.lognormvariate(0, 4) for _ in range(5000)]
    fine, coarse = NativeBuckets(6), NativeBuckets(2)
    for value in values:
        fine.observe(value)
        coarse.observe(value)
    assert downscaled(fine.positive.items(), 4) == coarse.positive


def test_merging_a_coarser_series_downscales_the_finer_one_exactly():
    rng = random.Random(2)
    values = [rng.uniform(-5, 5) for _ in range(3000)] + [0.0] * 7
    fine, coarse, direct = NativeBuckets(5), NativeBuckets(3), NativeBuckets(3)
    for i, value in enumerate(values):
        (fine if i % 2 else coarse).observe(value)
        direct.observe(value)
    fine.add(*coarse.wire())
    assert (fine.schema, fine.positive, fine.negative, fine.zeros) == (
        3, direct.positive, direct.negative, direct.zeros,
    )  # fmt: skip


def test_workers_with_another_error_setting_merge_at_the_coarser_schema():
    master = MetricStore(StoreLimits(quantile_error=0.01))
    worker = MetricStore(StoreLimits(quantile_error=0.05))
    direct = MetricStore(StoreLimits(quantile_error=0.05))
    rng = random.Random(3)
    for _ in range(2000):
        ms = rng.lognormvariate(3, 1)
        worker.record_request("GET", "/a", ms, 0, None, Ok())
        direct.record_request("GET", "/a", ms, 0, None, Ok())
    master.merge(worker.drain())
    merged, expected = master.requests["GET"]["/a"], direct.requests["GET"]["/a"]
    assert merged.native.schema == expected.native.schema == 4
    assert merged.positive() == expected.positive()


def decode(spans: list[tuple[int, int]], deltas: list[int]) -> dict[int, int]:
    """What Prometheus reads back from spans and deltas."""
    buckets, key, count, position = {}, 0, 0, 0
    for number, (offset, length) in enumerate(spans):
        key = offset if number == 0 else key + offset
        for _ in range(length):
            count += deltas[position]
            position += 1
            if count:
                buckets[key] = count
            key += 1
    assert position == len(deltas)
    return buckets


@pytest.mark.parametrize("seed", range(5))
def test_spans_and_deltas_decode_to_the_buckets(seed):
    rng = random.Random(seed)
    buckets = {rng.randrange(-300, 300): rng.randrange(1, 1000) for _ in range(rng.randrange(60))}
    spans, deltas = spans_and_deltas(buckets)
    assert decode(spans, deltas) == buckets
    # Gaps of one or two empty buckets stay inside a span; longer ones start a new one.
    assert all(offset > 2 for offset, _ in spans[1:])


def test_a_request_store_keeps_native_buckets_beside_the_classic_ones():
    store = MetricStore()
    for ms in (0.0, 1.0, 1000.0, 2000.0, 2000.0):
        store.record_request("GET", "/a", ms, 0, None, Ok())
    series = store.requests["GET"]["/a"]
    positive = series.positive()
    # 1 s is the upper edge of bucket 0; 2 s of bucket 16 at schema 4.
    assert series.native.zeros == 1 and positive[0] == 1 and positive[16] == 2
    assert sum(positive.values()) + series.native.zeros == sum(series.counts)


def test_values_that_are_not_finite_are_refused_and_counted_as_errors():
    store = MetricStore()
    for value in (1.0, math.nan, math.inf, -math.inf, -2.0):
        store.record_value("depth", value)
    series = store.custom["depth"]
    assert sum(series.counts) == 2 and series.sum == -1.0 and store.errors == 3
    assert series.native.negative and series.native.positive


@pytest.mark.parametrize("error", [0.01, 0.03, 0.05, 0.2, 1.0])
def test_the_classic_bucket_found_from_the_native_one_is_the_bisected_one(error):
    """The hot path finds the classic bucket from the native key; it must be the bucket a
    bisection of the classic bounds gives, at bounds, at native edges and anywhere between."""
    from bisect import bisect_left

    store = MetricStore(StoreLimits(quantile_error=error))
    bounds_ms = [b * 1000 for b in store.layout.bounds]
    base = 2 ** (2**-store.schema)
    rng = random.Random(6)
    times = [rng.lognormvariate(2, 3) for _ in range(20_000)]
    times += [b for b in bounds_ms] + [math.nextafter(b, 0) for b in bounds_ms]
    times += [1000 * base**k for k in range(-300, 120)] + [1e-7, 1e9, 0.0]
    for ms in times:
        store.record_request("GET", "/t", ms, 0, None, Ok())
    expected = [0] * (len(bounds_ms) + 1)
    for ms in times:
        expected[bisect_left(bounds_ms, ms)] += 1
    assert store.requests["GET"]["/t"].counts == expected


@pytest.mark.parametrize("error", [0.01, 0.05, 0.3])
def test_the_native_buckets_of_requests_are_the_observed_ones(error):
    """Dense within the table, sparse beyond it: together, what observing each time gives."""
    store = MetricStore(StoreLimits(quantile_error=error))
    observed = NativeBuckets(store.schema)
    rng = random.Random(7)
    for _ in range(20_000):
        ms = rng.lognormvariate(3, 4)  # far below and above the table's range too
        store.record_request("GET", "/n", ms, 0, None, Ok())
        observed.observe(ms / 1000.0)
    assert store.requests["GET"]["/n"].positive() == observed.positive


def test_a_series_that_recorded_and_then_merges_a_coarser_worker_keeps_everything():
    """What this process recorded moves to the sparse buckets before the schema is lowered
    for a coarser worker's: nothing is lost or counted twice."""
    fine = MetricStore(StoreLimits(quantile_error=0.01))
    coarse = MetricStore(StoreLimits(quantile_error=0.05))
    direct = MetricStore(StoreLimits(quantile_error=0.05))
    rng = random.Random(8)
    for store in (fine, coarse):
        for _ in range(1000):
            ms = rng.lognormvariate(3, 1)
            store.record_request("GET", "/m", ms, 0, None, Ok())
            direct.record_request("GET", "/m", ms, 0, None, Ok())
    fine.merge(coarse.drain())
    merged, expected = fine.requests["GET"]["/m"], direct.requests["GET"]["/m"]
    assert merged.native.schema == 4
    assert merged.positive() == expected.positive()
