"""Test locustfile: a task that logs on every run, as user code does (stdlib logging)."""

import logging

from locust import HttpUser, constant, task

import service.plugin  # noqa: F401


class ChattyUser(HttpUser):
    wait_time = constant(0.05)

    @task
    def look_and_tell(self):
        self.client.get("/_sandbox/health")
        for line in range(5):
            logging.info("checked health, line %s", line)
