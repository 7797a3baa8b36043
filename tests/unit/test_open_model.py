"""Open mode's parts without Locust's runner: the schedule, the accounts, the gate between
arrivals and users (real gevent greenlets on the real clock), and the swarm's split."""

from __future__ import annotations

import itertools
import math
import time

import gevent
import pytest
from locust.exception import StopUser

from service.metrics.buckets import latency_layout
from service.metrics.store import MetricStore
from service.open_model.accounts import (
    DROPPED,
    GENERATOR_BEHIND,
    LATE,
    ON_TIME,
    POOL_BUSY,
    ArrivalAccounts,
)
from service.open_model.gate import DELAY_ATTRIBUTE, ArrivalGate
from service.open_model.schedule import ArrivalSchedule
from service.open_model.swarm import split


def accounts() -> ArrivalAccounts:
    return ArrivalAccounts(latency_layout(0.05), 3)


def test_a_constant_schedule_does_not_drift_over_millions_of_arrivals():
    schedule = ArrivalSchedule("constant")
    schedule.set_rate(50.0, 1000.0)
    times = [schedule.take() for _ in range(1_800_000)]
    assert times[0] == pytest.approx(1000.02)
    assert times[-1] == 1000.0 + 1_800_000 / 50.0  # exactly: n / rate from the anchor
    assert all(b > a for a, b in itertools.pairwise(times))


def test_a_new_rate_continues_from_the_last_intended_time():
    schedule = ArrivalSchedule("constant")
    schedule.set_rate(10.0, 0.0)
    assert [schedule.take() for _ in range(3)] == pytest.approx([0.1, 0.2, 0.3])
    # The generator is behind (now is 5 s): the new rate owes every arrival since 0.3 s.
    schedule.set_rate(20.0, 5.0)
    assert schedule.take() == pytest.approx(0.35)
    # From a standstill the schedule starts now: a pause owes nothing.
    schedule.set_rate(0.0, 6.0)
    assert math.isinf(schedule.due)
    schedule.set_rate(10.0, 100.0)
    assert schedule.take() == pytest.approx(100.1)


def test_a_poisson_schedule_has_its_rate_and_its_seed_repeats_it():
    first, again = ArrivalSchedule("poisson", seed=7), ArrivalSchedule("poisson", seed=7)
    first.set_rate(50.0, 0.0)
    again.set_rate(50.0, 0.0)
    times = [first.take() for _ in range(100_000)]
    assert times[:100] == [again.take() for _ in range(100)]
    assert len(times) / times[-1] == pytest.approx(50.0, rel=0.02)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Exponential gaps: as many above the mean as e^-1 predicts.
    assert sum(g > 1 / 50 for g in gaps) / len(gaps) == pytest.approx(math.exp(-1), abs=0.01)


def test_each_arrival_is_counted_once_and_workers_add_up_exactly():
    worker_a, worker_b, master = accounts(), accounts(), accounts()
    worker_a.scheduled, worker_b.scheduled = 3, 2
    worker_a.started(0.001, generator_behind=False)  # on time
    worker_a.started(0.5, generator_behind=False)  # late: the pool was busy
    worker_a.dropped(generator_behind=True)
    worker_b.started(0.02, generator_behind=True)  # late: the generator's own
    worker_b.started(0.0, generator_behind=True)  # on time, whatever the dispatcher was
    for worker in (worker_a, worker_b):
        master.add(worker.drain())
        assert worker.scheduled == 0 and worker.resolved == 0  # drained: deltas only
    assert master.scheduled == master.resolved == 5
    assert master.outcomes == {
        (ON_TIME, ""): 2, (LATE, POOL_BUSY): 1, (LATE, GENERATOR_BEHIND): 1,
        (DROPPED, POOL_BUSY): 0, (DROPPED, GENERATOR_BEHIND): 1,
    }  # fmt: skip
    assert master.delay.sum == pytest.approx(0.521)
    with pytest.raises(ValueError, match="unknown arrival outcome"):
        master.add([1, [["early", "", 1]], accounts().delay.wire()])


def test_a_worker_store_ships_its_arrivals_and_corrected_durations_to_the_master():
    worker, master = MetricStore(), MetricStore()
    worker.enable_arrivals().scheduled = 4
    worker.arrivals.started(0.25, generator_behind=False)
    series = worker.record_request("GET", "/api/x", 100.0, 10, None, None)
    worker.corrected_series(series).observe(0.35)
    master.merge(worker.drain())
    assert master.arrivals.scheduled == 4 and master.arrivals.outcomes[LATE, POOL_BUSY] == 1
    merged = master.requests["GET"]["/api/x"].corrected
    assert sum(merged.counts) == 1 and merged.sum == pytest.approx(0.35)
    assert worker.arrivals.scheduled == 0  # the worker starts over


def run_users(gate: ArrivalGate, users: int, task_s: float, seconds: float) -> list[float]:
    """`users` greenlets that take an arrival, work `task_s`, and again; the delays seen."""
    delays: list[float] = []

    def user() -> None:
        try:
            while True:
                gate.enter()
                delays.append(getattr(gevent.getcurrent(), DELAY_ATTRIBUTE))
                gevent.sleep(task_s)
        except StopUser:
            pass

    greenlets = [gevent.spawn(user) for _ in range(users)]
    gevent.sleep(0.05)  # the pool is there before the arrivals start
    gate.set_rate(100.0)
    gevent.sleep(seconds)
    gate.stop()
    gevent.joinall(greenlets, timeout=task_s + 1)
    gevent.killall(greenlets)
    gate.close()
    return delays


def test_a_sufficient_pool_starts_every_arrival_on_time():
    books = accounts()
    gate = ArrivalGate(books, ArrivalSchedule("constant"), max_delay_s=1.0)
    delays = run_users(gate, users=10, task_s=0.01, seconds=1.0)
    assert books.scheduled == books.resolved == len(delays)
    assert books.scheduled == pytest.approx(100, abs=3)
    # A loaded test machine wakes late now and then: that is the generator's, never the pool's.
    assert books.outcomes[ON_TIME, ""] >= 0.9 * books.scheduled
    assert books.outcomes[LATE, POOL_BUSY] == books.outcomes[DROPPED, POOL_BUSY] == 0


def test_a_busy_pool_makes_arrivals_wait_in_order_then_drops_them():
    books = accounts()
    gate = ArrivalGate(books, ArrivalSchedule("constant"), max_delay_s=0.2)
    # One user, 50 ms per task, 100 arrivals/s: it starts 20 a second, the rest wait up to
    # 0.2 s and are dropped.
    delays = run_users(gate, users=1, task_s=0.05, seconds=1.0)
    assert books.scheduled == books.resolved  # every arrival exactly once, the waiting too
    assert books.outcomes[LATE, POOL_BUSY] >= 10
    assert books.outcomes[DROPPED, POOL_BUSY] >= 50
    assert max(delays) <= 0.2 + 0.05  # none started past the limit (plus a dispatcher tick)


def test_stop_releases_waiting_users_and_close_drops_what_never_started():
    books = accounts()
    gate = ArrivalGate(books, ArrivalSchedule("constant"), max_delay_s=10.0)
    run_users(gate, users=2, task_s=0.3, seconds=0.5)
    assert books.outcomes[DROPPED, POOL_BUSY] > 0  # waiting for a user when the test stopped
    assert books.scheduled == books.resolved
    assert not gate.idle and not gate.pending


def test_the_swarm_rate_is_split_by_pool_size():
    assert split(100.0, {"a": 30, "b": 10}) == {"a": 75.0, "b": 25.0}
    assert split(90.0, {"a": 0, "b": 0, "c": 0}) == {"a": 30.0, "b": 30.0, "c": 30.0}
    assert split(90.0, {}) == {}


def test_a_batch_window_sends_the_arrivals_due_within_it_together():
    books = accounts()
    clock = time.monotonic
    gate = ArrivalGate(books, ArrivalSchedule("constant"), max_delay_s=1.0, batch_s=0.05)
    starts: list[float] = []

    def user() -> None:
        try:
            while True:
                gate.enter()
                starts.append(clock())
                gevent.sleep(0.001)
        except StopUser:
            pass

    greenlets = [gevent.spawn(user) for _ in range(20)]
    gevent.sleep(0.05)
    gate.set_rate(100.0)
    gevent.sleep(1.0)
    gate.stop()
    gevent.joinall(greenlets, timeout=1)
    gate.close()
    # 100 arrivals a second, five due within each 50 ms window: about 20 wakes, not 100.
    bursts = 1 + sum(1 for a, b in itertools.pairwise(starts) if b - a > 0.005)
    assert books.scheduled == pytest.approx(100, abs=3) and books.scheduled == books.resolved
    assert 15 <= bursts <= 25, bursts
    assert books.outcomes[LATE, POOL_BUSY] == 0  # early, never late for the batch
