"""Each shape's tick() over a compressed timeline (a fake clock, no Locust run)."""

import itertools

import pytest

from service.operation.shapes import SHAPES, ShapeSettings, make_shape


class FakeClock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def shape_over(name: str, settings: ShapeSettings, times: list[float]) -> list[int]:
    clock = FakeClock(times[0])
    shape = SHAPES[name](settings, clock=clock)
    users = []
    for t in times:
        clock.now = t
        answer = shape.tick()
        assert answer is not None, "continuous shapes never end by themselves"
        users.append(answer[0])
        assert shape.target_users == answer[0]
    return users


def test_steady_shape_holds_its_users_for_a_simulated_week():
    users = shape_over("steady", ShapeSettings(users=7), [t * 3600.0 for t in range(24 * 7)])
    assert set(users) == {7}


def test_spike_shape_bursts_in_the_first_ten_seconds_of_every_minute():
    settings = ShapeSettings(users=50, base_users=5, spawn_rate=2)
    times = [600.0 + s for s in range(180)]  # three minutes
    users = shape_over("spike", settings, times)
    for t, n in zip(times, users, strict=True):
        assert n == (50 if t % 60 < 10 else 5), t
    shape = make_shape("spike", settings)
    assert shape.spawn_rate() >= 45, "a spike reaches its peak within a second"


def test_diurnal_shape_peaks_at_the_peak_hour_and_bottoms_out_twelve_hours_later():
    day = 240.0  # a day compressed into four minutes
    settings = ShapeSettings(users=100, base_users=10, period_s=day, peak_hour=6.0)
    times = [day * 30 + t for t in range(0, 481)]  # two compressed days
    users = shape_over("diurnal", settings, times)
    peak_at = day * 6 / 24
    for t, n in zip(times, users, strict=True):
        if t % day == peak_at:
            assert n == 100
        if t % day == (peak_at + day / 2) % day:
            assert n == 10
        assert 10 <= n <= 100
    # smooth: never more than a few users per compressed second (a cosine, not steps)
    assert max(abs(a - b) for a, b in itertools.pairwise(users)) <= 2
    # the same wall-clock time gives the same users, whenever the shape was started
    later = shape_over("diurnal", settings, [times[100] + day * 3])
    assert later[0] == users[100]


def test_ramp_shape_climbs_linearly_then_holds():
    settings = ShapeSettings(users=40, base_users=0, ramp_s=20.0)
    users = shape_over("ramp", settings, [1000.0 + t for t in range(60)])
    assert users[0] == 0
    assert users[10] == 20
    assert users[20:] == [40] * 40
    assert users == sorted(users)


def test_a_shape_with_a_duration_ends_after_it():
    clock = FakeClock(100.0)
    shape = SHAPES["steady"](ShapeSettings(users=3, duration_s=30.0), clock=clock)
    clock.now = 129.0
    assert shape.tick() == (3, 1.0)
    clock.now = 130.0
    assert shape.tick() is None


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_shape_is_a_locust_load_shape_reading_the_common_options(name):
    from locust import LoadTestShape

    shape = make_shape(name, ShapeSettings(users=5))
    assert isinstance(shape, LoadTestShape)
    assert shape.use_common_options
