"""Test locustfile: fires request events directly, for cases real HTTP cannot provoke cheaply."""

import itertools
import os

from locust import User, constant, task

from service import plugin

UNIQUE_NAMES = int(os.environ.get("SYNTHETIC_UNIQUE_NAMES", "0"))
# A name with a lone surrogate, as bytes decoded with surrogateescape give.
BAD_NAME = os.environ.get("SYNTHETIC_BAD_NAME") and "bad-\udc80-name"
_names = itertools.count()


class BrokenResponse:
    """A response whose status cannot be read: the exporter must survive it."""

    @property
    def status_code(self):
        raise RuntimeError("no status")


class SyntheticUser(User):
    wait_time = constant(0.01)

    def fire(self, **overrides):
        event = {
            "request_type": "GET",
            "name": "/synthetic",
            "response_time": 5.0,
            "response_length": 10,
            "exception": None,
            "context": {},
            "response": None,
            "url": None,
            "start_time": 0.0,
        }
        self.environment.events.request.fire(**{**event, **overrides})

    @task
    def work(self):
        self.fire()
        self.fire(request_type="SYSTEM", name="cpu_usage", response_length=42)
        self.fire(request_type="CUSTOM", name="threats_found", response_length=7)
        self.fire(name="/broken", response=BrokenResponse())
        plugin.record_value("queue_depth", 3)
        if BAD_NAME:
            self.fire(name=BAD_NAME, exception=RuntimeError("failed"))
        for _ in range(UNIQUE_NAMES and 200):
            number = next(_names)
            if number < UNIQUE_NAMES:
                self.fire(name=f"/unique/{number}", exception=RuntimeError(f"boom {number}"))
