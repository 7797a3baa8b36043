"""The arrival benchmark's user: FastHttpUser, 10 requests/s each when closed (in open mode
its wait_time is not used: the schedule paces it), 20 endpoint names."""

import random

from locust import FastHttpUser, constant_throughput, task


class PacedUser(FastHttpUser):
    wait_time = constant_throughput(10)

    @task
    def get(self):
        self.client.get(f"/endpoint/{random.randrange(20)}")
