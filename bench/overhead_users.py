"""The benchmark's user: FastHttpUser, no waits, 20 endpoint names; reports its own CPU use."""

import json
import os
import random
import resource

from locust import FastHttpUser, constant, events, task

_window: dict = {}
settings = {"report_whole_run": True}


class SaturatingUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self):
        self.client.get(f"/endpoint/{random.randrange(20)}")


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@events.spawning_complete.add_listener
def _start(**_kwargs):
    # Measured from here: start-up and spawning are not per-request costs.
    _window["cpu_s"] = _cpu_s()
    _window["requests"] = _window["environment"].stats.total.num_requests


@events.test_stop.add_listener
def _stop(**_kwargs):
    if not settings["report_whole_run"]:
        return  # overhead_ab.py reports per phase instead
    environment = _window["environment"]
    with open(os.environ["BENCH_REPORT"], "w") as file:
        json.dump(
            {
                "cpu_s": _cpu_s() - _window["cpu_s"],
                "requests": environment.stats.total.num_requests - _window["requests"],
            },
            file,
        )


@events.init.add_listener
def _remember(environment, **_kwargs):
    _window["environment"] = environment
