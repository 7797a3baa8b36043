"""Test locustfile: user behaviour only, without the plugin's import (the CLI installs it)."""

from locust import HttpUser, constant, task


class PlainUser(HttpUser):
    wait_time = constant(0.1)

    @task
    def health(self):
        self.client.get("/_sandbox/health")
