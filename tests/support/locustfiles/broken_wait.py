"""Test locustfile: a user whose wait_time raises (a scenario's bug, not the target's)."""

from locust import HttpUser, task

from service import plugin  # noqa: F401


def broken_wait(_user):
    raise ValueError("wait_time is broken")


class BrokenWaitUser(HttpUser):
    wait_time = broken_wait

    @task
    def health(self):
        self.client.get("/_sandbox/health")
