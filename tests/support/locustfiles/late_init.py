"""Test locustfile: another plugin's init listener, registered before this project's, that
yields for seconds (as an init doing I/O can on a loaded machine). A worker is registered
with its master before init, so the master's first spawn, and Locust's test_start, can come
before the plugin's own init has run."""

import time

from locust import HttpUser, constant, events, task

START_S = 3


@events.init.add_listener
def slow_first(**_kwargs):
    time.sleep(START_S)  # gevent's sleep: the worker's message loop runs meanwhile


import service.plugin  # noqa: E402, F401  (imported after: its init listener runs second)


class PlainUser(HttpUser):
    wait_time = constant(0.1)

    @task
    def health(self):
        self.client.get("/_sandbox/health")
