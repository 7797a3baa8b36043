"""The request tap takes the place of Locust's stats listener: Locust's stats stay exactly as
they were, the store records the same requests, and detaching puts Locust's listener back."""

from __future__ import annotations

import locust
import pytest
from locust import User
from locust.env import Environment
from locust.exception import CatchResponseError

from service.metrics.request_tap import LOCUST_STATS_LISTENER, RequestTap, UnsupportedLocust
from service.metrics.store import MetricStore


class Idle(User):
    pass


class Response:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


def fire(environment: Environment, name: str, status: int, **extra) -> None:
    environment.events.request.fire(
        request_type="GET",
        name=name,
        response_time=12.5,
        response_length=100,
        exception=CatchResponseError("bad") if status >= 400 else None,
        context={},
        response=Response(status),
        url=f"http://127.0.0.1{name}",
        start_time=0.0,
        **extra,
    )


@pytest.fixture
def environment() -> Environment:
    environment = Environment(user_classes=[Idle])
    environment.create_local_runner()
    return environment


def test_the_tap_replaces_locusts_listener_in_place_and_feeds_both(environment):
    hook = environment.events.request
    locust_listener = hook._handlers[0]
    others = [hook.add_listener(lambda **_kwargs: None) for _ in range(2)]
    store = MetricStore()
    tap = RequestTap(hook, environment.runner, store.record_request)
    tap.attach()
    assert tap.replaced is locust_listener
    assert hook._handlers == [tap.listener, *others]
    for n in range(30):
        fire(environment, f"/api/{n % 3}", 500 if n % 10 == 0 else 200)
    fire(environment, "/api/0", 200, extra_key="a locustfile's own")
    assert environment.stats.total.num_requests == 31
    assert environment.stats.total.num_failures == 3
    assert sum(e.occurrences for e in environment.stats.errors.values()) == 3
    for n in range(3):
        series = store.requests["GET"][f"/api/{n}"]
        locust = environment.stats.get(f"/api/{n}", "GET")
        assert series.requests == locust.num_requests
        assert series.failures == locust.num_failures
        assert series.sum_ms == locust.total_response_time
    tap.detach()
    assert hook._handlers == [locust_listener, *others]
    fire(environment, "/api/1", 200)
    assert environment.stats.total.num_requests == 32
    assert store.requests["GET"]["/api/1"].requests == 10  # no longer recorded


def test_without_locusts_listener_the_tap_refuses_to_start_naming_the_version(environment):
    hook = environment.events.request
    other_runner = Environment(user_classes=[Idle]).create_local_runner()
    store = MetricStore()
    # Not this runner's listener (as if Locust registered another): nothing to replace.
    tap = RequestTap(hook, other_runner, store.record_request)
    with pytest.raises(UnsupportedLocust, match=f"Locust {locust.__version__} has no stats"):
        tap.attach()
    assert len(hook._handlers) == 1 and not tap.attached


def test_a_changed_locust_listener_body_refuses_to_start(environment):
    runner = environment.runner

    def on_request(request_type, name, response_time, response_length, exception=None, **_kw):
        print(runner, request_type)  # Locust's name and runner, another body

    on_request.__qualname__ = LOCUST_STATS_LISTENER
    hook = environment.events.request
    hook._handlers[0] = on_request
    tap = RequestTap(hook, runner, MetricStore().record_request)
    with pytest.raises(UnsupportedLocust, match=f"Locust {locust.__version__} changed"):
        tap.attach()
