"""The benchmark's user: FastHttpUser, no waits, 20 endpoint names."""

import random

from locust import FastHttpUser, constant, task


class SaturatingUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self):
        self.client.get(f"/endpoint/{random.randrange(20)}")
