"""Test locustfile: a user that paces itself to one request per 0.4 s (closed mode), the
issue's stall example. User behaviour only (the CLI installs the plugin)."""

from locust import HttpUser, constant_pacing, task


class PacedUser(HttpUser):
    wait_time = constant_pacing(0.4)

    @task
    def version(self):
        self.client.get("/api/version")
