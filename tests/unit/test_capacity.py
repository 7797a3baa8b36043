"""The capacity search's parts without processes: the step search, the verdict, the USL fit,
the readings' percentiles and the bottleneck ranking."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from types import SimpleNamespace

import pytest
from locust import User

from service.capacity import model as capacity_model
from service.capacity import readings, result
from service.capacity.command import summary
from service.capacity.readings import (
    ArrivalCounts,
    ArrivalReading,
    EndpointReading,
    Reading,
    Snapshot,
    between,
)
from service.capacity.search import Search
from service.capacity.shape import DRAIN_MAX_S, CapacityPlan, Drain
from service.capacity.usl import UslFit, fit
from service.capacity.verdict import Slo, judge
from service.metrics.store import MetricStore
from service.monitor.health import ProcessMonitor, WorkersHealth
from service.settings.service_options import ServiceOptions

SLO = Slo(p95_s=0.5, p99_s=1.0, error_ratio=0.01, saturation_cpu=0.9, saturation_lag_s=0.1)


def endpoint(rate: float, p95: float, requests: int = 500, failures: int = 0):
    return EndpointReading(requests, failures, rate, failures / requests, p95 / 2, p95, p95 * 1.5)


def reading(users, rate, p95=0.1, failures=0, endpoints=None, cpu=0.3, lag=0.001, requests=500):
    total = endpoint(rate, p95, requests=requests, failures=failures)
    return Reading(users, 10.0, total, endpoints or {("GET", "/a"): total}, {"local": cpu}, lag)


def saturating_search(knee: int, saturates_at: int = 100, maximum: int = 5000) -> tuple:
    """A search against a target that makes 2 requests/s per user up to `saturates_at` users
    and holds the SLO up to `knee` users: (the search, the loads it tried)."""
    search = Search(start=10, maximum=maximum, precision=0.05)
    tried = []
    while (users := search.next_load()) is not None:
        tried.append(users)
        search.record(users, held=users <= knee, rate=2.0 * min(users, saturates_at))
    return search, tried


@pytest.mark.parametrize("knee", [7, 33, 100, 250, 999])
def test_search_brackets_the_knee_within_the_precision(knee):
    search = Search(start=10, maximum=5000, precision=0.05)
    steps = 0
    while (users := search.next_load()) is not None:
        search.record(users, held=users <= knee)
        steps += 1
    assert search.held <= knee < search.broke or (search.held is None and knee < 10)
    if search.held:
        assert (search.broke - search.held) <= max(1, 0.05 * search.held)
    assert steps <= 2 * math.log2(max(knee, 2)) + 6


def test_search_aims_at_the_knee_when_the_broken_step_shows_saturation():
    search, tried = saturating_search(knee=100)
    # 160 made 200/s, not 320: aim at 0.97 x 100, then one precision above it.
    assert tried == [10, 20, 40, 80, 160, 97, 101]
    assert search.held == 97 and search.broke == 101


def test_search_stops_at_the_user_limit_when_nothing_breaks():
    search, tried = saturating_search(knee=10**6, saturates_at=10**6, maximum=300)
    assert tried == [10, 20, 40, 80, 160, 300] and search.broke is None


def test_verdict_names_each_broken_threshold():
    slow = {("GET", "/a"): endpoint(100, 0.2), ("POST", "/login"): endpoint(10, 0.8)}
    verdict = judge(reading(40, 110, endpoints=slow), SLO)
    assert not verdict.held and not verdict.generator_limited
    assert verdict.reasons == ("p95 of POST /login 800 ms above 500 ms",
                               "p99 of POST /login 1.20 s above 1.00 s")  # fmt: skip
    failing = judge(reading(40, 110, failures=20), SLO)
    assert failing.reasons == ("error ratio 4.00% above the budget 1.00%",)


def test_verdict_breaks_when_throughput_stops_growing_with_users():
    best = reading(100, 200)
    assert judge(reading(200, 260), SLO, [best]).held  # +30 % for +100 % users: still growing
    flat = judge(reading(200, 210), SLO, [best])
    assert not flat.held and "throughput stopped growing" in flat.reasons[0]


def test_a_saturated_generator_is_never_taken_for_the_target():
    verdict = judge(reading(100, 200, p95=0.9, cpu=0.95), SLO)
    assert verdict.generator_limited and not verdict.held
    assert "generator process local used 95%" in verdict.reasons[0]
    lagging = judge(reading(100, 200, lag=0.3), SLO)
    assert lagging.generator_limited and "event-loop lag" in lagging.reasons[0]


def test_slo_comes_from_the_rule_file_and_the_command_line_overrides_it():
    slo = Slo.from_rules(p95_s=0.25)
    assert (slo.p95_s, slo.p99_s, slo.error_ratio) == (0.25, 1.0, 0.01)
    assert slo.saturation_cpu == 0.9 and slo.saturation_lag_s == 0.1


def test_usl_fit_recovers_known_parameters():
    truth = UslFit(3.0, 0.03, 0.0004, 1.0, None, 0.0)
    points = [(n, truth.throughput(n)) for n in (1, 4, 10, 20, 40, 80, 120)]
    usl = fit(points)
    assert usl.lam == pytest.approx(3.0) and usl.sigma == pytest.approx(0.03)
    assert usl.kappa == pytest.approx(0.0004) and usl.r2 == pytest.approx(1.0)
    assert usl.peak_users == pytest.approx(math.sqrt(0.97 / 0.0004))


def test_usl_fit_of_linear_scaling_has_no_contention_and_no_peak():
    usl = fit([(n, 2.0 * n) for n in (5, 10, 20, 40)])
    assert usl.sigma == pytest.approx(0) and usl.kappa == 0 and usl.peak_users is None
    assert fit([(5, 10.0), (10, 20.0)]) is None  # too few points


def test_readings_give_rates_and_percentiles_of_the_interval_only():
    bounds = (0.1, 0.2, 0.4, 0.8)
    before = Snapshot(0.0, {("GET", "/a"): (50, 0, 0, 0, 0)}, {("GET", "/a"): 0}, {"w": 1.0},
                      (0, 0, 0))  # fmt: skip
    after = Snapshot(10.0, {("GET", "/a"): (50, 90, 5, 5, 0)}, {("GET", "/a"): 2}, {"w": 4.0},
                     (10, 0, 0))  # fmt: skip
    step = between(before, after, 20, bounds, (0.01, 0.1))
    a = step.endpoints[("GET", "/a")]
    assert (a.requests, a.rate, a.error_ratio) == (100, 10.0, 0.02)
    assert 0.1 < a.p50_s < 0.2 and 0.2 < a.p95_s <= 0.4 and 0.4 < a.p99_s <= 0.8
    assert step.generator_cpu == {"w": 0.3} and step.lag_p99_s <= 0.01


def test_bottlenecks_rank_the_endpoint_whose_latency_rises_first():
    steps = []
    for users, slow_p95 in ((10, 0.05), (20, 0.06), (40, 0.2), (80, 0.9)):
        fast_p95 = 0.01 if users < 80 else 0.03
        endpoints = {("GET", "/fast"): endpoint(9 * users, fast_p95, requests=90 * users),
                     ("POST", "/slow"): endpoint(users, slow_p95, requests=10 * users)}  # fmt: skip
        step = reading(users, 10 * users, endpoints=endpoints, requests=100 * users)
        steps.append(result.Step(step, judge(step, SLO)))
    ranking = result.bottlenecks(steps)
    assert [e["endpoint"] for e in ranking] == ["POST /slow", "GET /fast"]
    assert ranking[0]["rose_at_load"] == 40 and ranking[1]["rose_at_load"] == 80
    answer = result.build(steps, SLO, "found", workers=1)
    assert answer["capacity_rps"] == 400 and answer["broke_at"]["users"] == 80
    assert not answer["at_least"] and answer["limit"] == "target"
    # In the answer a rise must also matter against the SLO: /fast's +20 ms is not one.
    assert [e["rose_at_load"] for e in answer["bottlenecks"]] == [40, None]


def test_a_fast_endpoints_jitter_is_no_bottleneck():
    steps = []
    for users, jitter in ((20, 0.005), (40, 0.006), (80, 0.011), (160, 0.012)):
        endpoints = {("GET", "/version"): endpoint(9 * users, jitter),
                     ("POST", "/login"): endpoint(users, 0.2 if users < 160 else 0.9)}  # fmt: skip
        step = reading(users, 10 * users, endpoints=endpoints, requests=100 * users)
        steps.append(result.Step(step, judge(step, SLO)))
    ranking = result.bottlenecks(steps, result.RISE_OF_SLO * SLO.p95_s)
    assert [(e["endpoint"], e["rose_at_load"]) for e in ranking] == [
        ("POST /login", 160),
        ("GET /version", None),
    ]


def test_a_masters_readings_cover_the_time_between_worker_reports():
    bounds = (0.1,)
    counts = {("GET", "/a"): (0, 0)}
    # Two workers reporting every 3 s at different phases; the snapshots 4 s apart hold one
    # report of one (3 s of its load) and two of the other (6 s): 4.5 s of the total.
    before = Snapshot(10.0, counts, {("GET", "/a"): 0}, {}, (0,), {"w1": 9.5, "w2": 8.0})
    after = Snapshot(14.0, {("GET", "/a"): (150, 0)}, {("GET", "/a"): 0}, {}, (0,),
                     {"w1": 12.5, "w2": 14.0})  # fmt: skip
    step = between(before, after, 10, bounds, ())
    assert step.seconds == 4.5 and step.total.rate == pytest.approx(150 / 4.5)


def test_search_steps_up_by_the_precision_near_its_aim():
    # Saturated at 200 requests/s (100 users), yet 105 users still hold the SLO.
    search, tried = saturating_search(knee=105)
    # The aim was short: one precision up at a time, not halfway to 160.
    assert tried == [10, 20, 40, 80, 160, 97, 101, 106]
    assert search.held == 101 and search.broke == 106


def test_search_bisects_once_past_its_estimate():
    # The saturated step said 100 users; the knee is at 130 (a target that queues well).
    search, tried = saturating_search(knee=130)
    assert tried[:9] == [10, 20, 40, 80, 160, 97, 101, 106, 133]  # 111 > 1.1 x 100: bisect
    assert search.held <= 130 < search.broke
    assert (search.broke - search.held) <= 0.05 * search.held


def open_reading(rate, completed_rate, started_share=1.0, dropped=0, behind=0, p95=0.05, users=100):
    """An open step of 10 s: `rate` arrivals/s asked, `completed_rate` requests/s done; the
    arrivals that did not start are still waiting, but `dropped`."""
    scheduled = round(rate * 10)
    started = round(scheduled * started_share)
    counts = ArrivalCounts(scheduled, started, dropped, behind)
    total = endpoint(completed_rate, p95, requests=round(completed_rate * 10))
    return Reading(users, 10.0, total, {("GET", "/a"): total}, {"local": 0.3}, 0.001,
                   ArrivalReading(rate, counts))  # fmt: skip


def test_an_open_step_breaks_when_it_falls_behind_its_arrivals():
    held = [open_reading(50, 50), open_reading(100, 100)]
    assert judge(open_reading(190, 189), SLO, held).held
    # 5 % over capacity: 200 of 210 asked complete; its latency has not yet crossed the SLO.
    behind = judge(open_reading(210, 200), SLO, held)
    assert not behind.held and "the target fell behind: 200 requests/s" in behind.reasons[0]
    # The pool ran dry: arrivals waited past the step.
    dry = judge(open_reading(150, 150, started_share=0.9), SLO, held)
    assert not dry.held and "10.0% of the arrivals did not start" in dry.reasons[0]
    # Two requests per arrival (a scenario's task that logs in, then reads): 400/s is on pace.
    double = [open_reading(50, 100), open_reading(100, 200)]
    assert judge(open_reading(200, 400), SLO, double).held
    assert not judge(open_reading(200, 360), SLO, double).held


def test_an_open_step_whose_generator_ran_late_is_not_the_targets_answer():
    late = judge(open_reading(100, 100, behind=100), SLO)
    assert late.generator_limited and "behind its schedule for 10.0%" in late.reasons[0]
    assert judge(open_reading(100, 100, behind=20), SLO).held  # 2 %: a busy host


def test_an_open_search_answers_in_arrivals_per_second_without_a_usl_fit():
    steps = [
        result.Step(r, judge(r, SLO))
        for r in (open_reading(50, 50, users=50), open_reading(100, 100, users=100))
    ]
    broken = open_reading(200, 150, users=200)
    steps.append(result.Step(broken, judge(broken, SLO, [s.reading for s in steps])))
    answer = result.build(steps, SLO, "found", workers=1, model="open")
    assert answer["load_unit"] == "arrivals/s" and answer["usl"] is None
    assert (answer["capacity_rps"], answer["capacity_load"]) == (100, 100)
    assert answer["broke_at"]["load"] == 200 and answer["steps"][-1]["arrivals"]["rate"] == 200
    assert "requests/s within the SLO at 100 arrivals/s" in summary(answer)


def test_a_broken_open_steps_backlog_drains_before_the_next_step():
    drain = Drain(started=0.0, completed=500)
    assert not drain.done(600, 1.0)  # still completing
    assert not drain.done(650, 3.0)
    assert not drain.done(650, 6.9)
    assert drain.done(650, 7.0)  # quiet for 4 s
    assert Drain(0.0, 0).done(10**6, DRAIN_MAX_S)  # never quiet: go on at the limit


def test_an_open_reading_takes_its_percentiles_from_the_corrected_durations():
    bounds = (0.1, 0.2, 0.4, 0.8)
    key = ("GET", "/a")
    before = Snapshot(0.0, {key: (0,) * 5}, {key: 0}, {}, (0,), corrected={key: (0,) * 5},
                      arrivals=ArrivalCounts(0, 0, 0, 0))  # fmt: skip
    # Every request took under 100 ms; a tenth of them started 0.5 s late.
    after = Snapshot(10.0, {key: (100, 0, 0, 0, 0)}, {key: 0}, {}, (0,),
                     corrected={key: (90, 0, 0, 10, 0)},
                     arrivals=ArrivalCounts(101, 100, 1, 0))  # fmt: skip
    step = between(before, after, 50, bounds, (), arrival_rate=10.0)
    assert step.total.requests == 100 and 0.4 < step.total.p95_s <= 0.8
    assert step.arrivals.counts == ArrivalCounts(101, 100, 1, 0) and step.load == 10.0
    measured = between(replace(before, corrected={}), replace(after, corrected={}), 50, bounds, ())
    assert measured.total.p95_s <= 0.1 and measured.load == 50 and measured.arrivals is None


def test_an_open_step_with_dropped_arrivals_breaks():
    held = [open_reading(50, 50)]
    verdict = judge(open_reading(100, 100, started_share=0.99, dropped=10), SLO, held)
    assert not verdict.held and verdict.reasons[0].startswith("10 arrivals dropped")


class _TaskUser(User):
    tasks = [lambda user: None]


class _OwnLoopUser(User):
    def run(self):  # its own loop: no TaskSet to schedule
        pass


def _options(model: str) -> ServiceOptions:
    plan = CapacityPlan(10, 100, 10.0, 0.05, 0.0, 10.0, None, None, SLO, model=model)
    return ServiceOptions("capacity", None, None, 100, 10.0, 1.0, 1.0, 1.0, 1, 1, 15.0, None,
                          capacity=plan, arrivals=object())  # fmt: skip


def test_the_search_runs_open_unless_a_user_class_runs_its_own_loop():
    decided = capacity_model.resolve(_options("auto"), [_TaskUser])
    assert decided.capacity.model == "open" and decided.arrivals is not None
    assert "the default" in decided.capacity.model_reason
    fallback = capacity_model.resolve(_options("auto"), [_TaskUser, _OwnLoopUser])
    assert fallback.capacity.model == "closed" and fallback.arrivals is None
    assert "_OwnLoopUser runs its own loop" in fallback.capacity.model_reason
    with pytest.raises(ValueError, match="_OwnLoopUser runs its own loop"):
        capacity_model.resolve(_options("open"), [_OwnLoopUser])
    assert capacity_model.resolve(_options("closed"), [_OwnLoopUser]).capacity.model == "closed"


def test_a_closed_knee_step_counts_at_the_scenarios_mix():
    # /slow is a tenth of the requests and holds 25/s. At 160 users its queue is still
    # filling: it completes 25/s while the rest run on, 280/s in all, its share 0.089. The
    # mix (a tenth) holds 250/s.
    steps = []
    for users, total, slow_rate, slow_p95 in ((20, 38, 3.8, 0.2), (40, 76, 7.6, 0.2),
                                               (80, 152, 15.2, 0.21), (160, 280, 25, 0.7),
                                               (320, 300, 25, 4.0)):  # fmt: skip
        endpoints = {("GET", "/fast"): endpoint(total - slow_rate, 0.01,
                                                requests=round(10 * (total - slow_rate))),
                     ("POST", "/slow"): endpoint(slow_rate, slow_p95,
                                                 requests=round(10 * slow_rate))}  # fmt: skip
        step = reading(users, total, p95=slow_p95, endpoints=endpoints, requests=10 * total)
        steps.append(result.Step(step, judge(step, replace(SLO, p95_s=2.0, p99_s=5.0))))
    answer = result.build(steps, replace(SLO, p95_s=2.0, p99_s=5.0), "found", workers=1)
    assert answer["measured_rps"] == 280 and answer["capacity_load"] == 160
    held = 38 + 76 + 152 + 280
    assert answer["capacity_rps"] == pytest.approx(25 * held / (3.8 + 7.6 + 15.2 + 25))
    assert 255 < answer["capacity_rps"] < 270
    # Open steps keep the mix by their arrivals: their total stands.
    opened = result.build(steps, replace(SLO, p95_s=2.0, p99_s=5.0), "found", 1, model="open")
    assert opened["capacity_rps"] == 280


def test_a_step_reads_this_processs_cpu_when_it_ends_not_as_last_sampled():
    # The monitor samples its host every 3 s, later when its loop lags: a 3 s step between two
    # samples read 0 CPU, and the saturated generator's answer lost its workers to add.
    generator = SimpleNamespace(monitor=ProcessMonitor("local"), workers_health=WorkersHealth())
    store = MetricStore()
    before = readings.take(store, generator, 0.0)
    spent = time.process_time() + 0.1
    while time.process_time() < spent:
        pass
    after = readings.take(store, generator, 1.0)
    assert generator.monitor.health.cpu_seconds == 0.0  # never sampled
    # psutil reads the kernel's counters in 10 ms ticks
    assert after.cpu_seconds["local"] - before.cpu_seconds["local"] >= 0.05
