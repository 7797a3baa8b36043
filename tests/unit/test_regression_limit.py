"""The regression benchmark's statistical limit: the soonest any test could tell a shift from
an endpoint's wander and the sampling of its requests, within the false-alarm budget."""

from bench.regression.plan import CONDITIONS, Plan
from bench.regression.scoring import limit_s, wander

PLAN = Plan()
BY_NAME = {c.name: c for c in CONDITIONS}


def test_the_wander_holds_the_load_it_follows() -> None:
    # 2 % latency noise and 10 % traffic noise passed on at an elasticity of 0.15: 2.5 %.
    assert 0.024 < wander(0.02, PLAN) < 0.026


def test_a_shift_takes_longer_on_a_noisier_or_quieter_endpoint() -> None:
    plus_20 = BY_NAME["p95 +20%"]
    assert limit_s(plus_20, 50.0, 0.02, PLAN) == 15 * 60
    # The same shift on a 5 % endpoint must wait for hours to average the wander out...
    assert limit_s(plus_20, 50.0, 0.05, PLAN) > 3600
    # ... and at 1 request/s 15 minutes' sampling alone is too wide for it.
    assert limit_s(plus_20, 1.0, 0.02, PLAN) > 15 * 60


def test_a_shift_inside_the_wander_has_no_limit_within_a_day() -> None:
    assert limit_s(BY_NAME["p95 +10%"], 50.0, 0.10, PLAN) is None
