"""The arrival benchmark's closed user held evenly spaced: 10 requests/s each, every user on
its own phase of the 100 ms period (user k of n sends at k/n of it), so that 50 of them send
one request every 2 ms, as an open schedule at 500/s does. Locust's own pacing lets closed users
fall into step and send in bursts (fewer wakes of the process); these keep their phases."""

import itertools
import random
import time

from locust import FastHttpUser, task

PERIOD_S = 0.1
_next_phase = itertools.count()


class EvenlySpacedUser(FastHttpUser):
    def on_start(self):
        users = max(self.environment.runner.target_user_count, 1)
        self.phase = next(_next_phase) % users * PERIOD_S / users

    def wait_time(self):
        # Until this user's next phase on the shared clock, wherever the last request ended.
        return PERIOD_S - (time.time() - self.phase) % PERIOD_S

    @task
    def get(self):
        self.client.get(f"/endpoint/{random.randrange(20)}")
