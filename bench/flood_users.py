"""The flood benchmark's user: every request under a new name, most of them failing with a new
message, as a locustfile that puts ids in its names would (no HTTP: events fired directly)."""

import itertools

from locust import User, constant, task

import service.plugin  # noqa: F401

_numbers = itertools.count()


class FloodUser(User):
    wait_time = constant(0.07)  # with 2 users: ~1,400 new names/s, 100,000 in 70 s

    @task
    def flood(self):
        fire = self.environment.events.request.fire
        for _ in range(50):
            number = next(_numbers)
            fire(
                request_type="GET",
                name=f"/item/{number}",
                response_time=5.0,
                response_length=10,
                exception=RuntimeError(f"item {number} failed") if number % 2 else None,
                context={},
                response=None,
            )
