"""Test locustfile: an init listener that takes seconds (as the plugin's own init can on a
loaded machine), while a worker is already registered with its master."""

import time

import structlog
from locust import HttpUser, constant, events, task

import service.plugin  # noqa: F401  (the plugin, as the seed's locustfiles import it)

START_S = 5


@events.init.add_listener
def slow_start(**_kwargs):
    time.sleep(START_S)
    structlog.get_logger("slow_start").info("slow_start_done", at=time.time())


class PlainUser(HttpUser):
    wait_time = constant(0.1)

    @task
    def health(self):
        self.client.get("/_sandbox/health")
