"""The capacity benchmark's user: one cheap read, half a second apart."""

from locust import HttpUser, constant, task


class ReaderUser(HttpUser):
    wait_time = constant(0.5)

    @task
    def version(self):
        self.client.get("/api/version")
