"""The metric store's arithmetic: bucket bound, bounded reasons, worker deltas merge exactly."""

import random
from itertools import pairwise

import msgpack
import pytest
from locust.exception import CatchResponseError

from service.metrics.buckets import latency_layout
from service.metrics.cardinality import OVERFLOW
from service.metrics.failure_reasons import message_class
from service.metrics.store import MetricStore, StoreLimits


class Response:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


@pytest.mark.parametrize("error", [0.05, 0.1, 0.02])
def test_latency_buckets_bound_the_quantile_error_from_1ms_to_60s(error):
    bounds = latency_layout(error).bounds
    guaranteed = [b for b in bounds if b >= 0.001]
    assert guaranteed[0] == 0.001 and guaranteed[-1] >= 60
    ratios = [upper / lower for lower, upper in pairwise(guaranteed)]
    assert max(ratios) <= 1 + error


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("Invalid JSON response", "invalid_json_response"),
        ("Failed for user_42 at /api/x?id=7 (trace 9f8e7d6c5b4a)", "failed_for_at_trace"),
        ("Token 'eyJhbGciOi.xyz' rejected", "token_rejected"),
        ("12345", "unspecified"),
    ],
)
def test_catch_response_messages_reduce_to_bounded_classes(message, reason):
    assert message_class(message) == reason


def record_random(store: MetricStore, rng: random.Random, count: int) -> None:
    for _ in range(count):
        status = rng.choice([200, 200, 200, 404, 503, 0])
        failed = status != 200
        exception = (
            CatchResponseError(f"failed {rng.random()}")
            if status == 404
            else (ConnectionRefusedError() if status == 0 else None)
        )
        if status == 503:
            exception = CatchResponseError("unavailable")
        store.record_request(
            rng.choice(["GET", "POST"]),
            f"/api/{rng.randrange(5)}",
            rng.expovariate(1 / 80),
            rng.randrange(1000),
            exception if failed else None,
            Response(status),
        )
        if rng.random() < 0.1:
            store.record_value("threats_found", rng.randrange(60))


def snapshot(store: MetricStore) -> dict:
    return {
        (method, name): (
            list(s.counts),
            round(s.sum_s, 6),
            s.requests,
            s.failures,
            s.bytes,
            dict(s.codes),
            dict(s.reasons),
            (s.native.schema, s.positive(), s.native.zeros),
        )
        for method, by_name in store.requests.items()
        for name, s in by_name.items()
    }


def test_worker_deltas_merged_on_the_master_equal_recording_in_one_process():
    direct, master = MetricStore(), MetricStore()
    workers = [MetricStore(), MetricStore()]
    for seed in range(6):  # six report intervals, alternating workers
        record_random(direct, random.Random(seed), 500)
        worker = workers[seed % 2]
        record_random(worker, random.Random(seed), 500)
        # The payload crosses the wire as Locust sends it: msgpack.
        master.merge(msgpack.unpackb(msgpack.packb(worker.drain()), strict_map_key=False))
    assert snapshot(master) == snapshot(direct)
    assert master.threats.counts == direct.threats.counts
    assert master.threats.native.positive == direct.threats.native.positive
    assert all(not worker.requests for worker in workers)  # drained: workers hold nothing


def test_the_budget_holds_on_the_master_across_workers():
    master = MetricStore(StoreLimits(max_series=10))
    for worker in range(3):
        store = MetricStore(StoreLimits(max_series=10))
        for n in range(10):
            store.record_request("GET", f"/w{worker}/{n}", 1.0, 0, None, Response(200))
        master.merge(store.drain())
    names = set(master.requests["GET"])
    assert len(names) == 11 and OVERFLOW in names
    assert master.requests["GET"][OVERFLOW].requests == 20
    assert master.series_budget.folded == 20


def test_a_store_of_100000_unique_names_stays_within_the_budget_in_memory():
    import tracemalloc

    store = MetricStore(StoreLimits(max_series=500))
    for n in range(1_000):
        store.record_request("GET", f"/warm/{n}", 1.0, 0, None, Response(200))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for n in range(100_000):
        store.record_request("GET", f"/unique/{n}", 1.0, 0, RuntimeError(str(n)), Response(500))
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert sum(len(by_name) for by_name in store.requests.values()) == 501
    assert grown < 100_000  # bytes: nothing per unique name is kept
