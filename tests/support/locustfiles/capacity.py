"""Test locustfile for the capacity search: a fast read nine times in ten, a login once."""

from locust import HttpUser, constant, task


class ReaderUser(HttpUser):
    wait_time = constant(0.5)

    @task(9)
    def version(self):
        self.client.get("/api/version")

    @task(1)
    def login(self):
        self.client.post(
            "/api/auth/login", json={"username": "user_1", "password": "test_password"}
        )
