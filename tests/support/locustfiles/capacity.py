"""Test locustfile for the capacity search: a fast read nine times in ten, a login once.
FastHttpUser: the search must find the target's limit, and HttpUser's CPU per request put a
slow day's generator near its own (its loop lagging 150 ms at 320 users) before the target's."""

from locust import FastHttpUser, constant, task


class ReaderUser(FastHttpUser):
    wait_time = constant(0.5)

    @task(9)
    def version(self):
        self.client.get("/api/version")

    @task(1)
    def login(self):
        self.client.post(
            "/api/auth/login", json={"username": "user_1", "password": "test_password"}
        )
