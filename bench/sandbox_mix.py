"""A saturating FastHttpUser mix of the seed's most frequent requests, for the sandbox benchmark."""

import random
import time

from locust import FastHttpUser, constant, task


class SeedMix(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        login = {"username": f"user_{random.randint(1, 1000)}", "password": "test_password"}
        token = self.client.post("/api/auth/login", json=login).json()["access_token"]
        self.bearer = {"Authorization": f"Bearer {token}"}
        self.key = {"X-API-Key": "automated_system_key"}
        self.tenant = f"tenant_{random.randint(1, 100)}"

    @task(3)
    def dashboard(self):
        self.client.get("/api/dashboard", headers=self.bearer)

    @task(2)
    def threats(self):
        self.client.get(
            f"/api/threats?tenant_id={self.tenant}&limit=50",
            headers=self.bearer,
            name="/api/threats",
        )

    @task(2)
    def devices(self):
        self.client.get(
            f"/api/devices?tenant_id={self.tenant}", headers=self.bearer, name="/api/devices"
        )

    @task(5)
    def stream(self):
        self.client.get("/api/threats/stream", headers=self.key)

    @task(3)
    def bulk(self):
        updates = [
            {"device_id": f"device_{i}", "status": "online", "last_seen": time.time()}
            for i in range(30)
        ]
        self.client.post("/api/devices/bulk", json={"updates": updates}, headers=self.key)
