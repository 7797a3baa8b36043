"""Test locustfile: a user that runs its own loop instead of tasks (it overrides User.run), so
its iterations cannot be scheduled by the open model."""

import gevent
from locust import HttpUser


class OwnLoopUser(HttpUser):
    def run(self):
        while True:
            self.client.get("/api/version")
            gevent.sleep(1)
