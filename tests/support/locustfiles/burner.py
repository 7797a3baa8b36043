"""Test locustfile: a user whose every task burns 5 ms of CPU and sends nothing, so that
enough arrivals saturate the generator itself. User behaviour only."""

import time

from locust import User, constant, task


class BurnerUser(User):
    wait_time = constant(1)

    @task
    def burn(self):
        ends = time.perf_counter() + 0.005
        while time.perf_counter() < ends:
            pass
