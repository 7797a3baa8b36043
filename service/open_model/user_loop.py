"""Open mode in Locust's task loop: before each task a user waits at the gate for an
arrival, and after it the user does not think (`wait_time` is not used: the schedule is the
pace). Users keep their state between iterations (login, token, tenant), and the
locustfiles run unchanged: the loop is patched, not the scenarios."""

from __future__ import annotations

from typing import Any

from locust.exception import StopUser
from locust.user.task import LOCUST_STATE_STOPPING, TaskSet

from service.open_model.gate import ArrivalGate

_ORIGINAL = {"execute_next_task": TaskSet.execute_next_task, "wait": TaskSet.wait}


def install(gate: ArrivalGate) -> None:
    """Every TaskSet (a User's default one and nested ones) takes an arrival per task."""
    execute_next_task = _ORIGINAL["execute_next_task"]

    def execute_next_task_on_arrival(self: Any) -> None:
        gate.enter()  # Locust's loop has checked that the user is not stopping
        execute_next_task(self)

    def no_think_time(self: Any) -> None:
        if self.user._state == LOCUST_STATE_STOPPING:
            raise StopUser()

    TaskSet.execute_next_task = execute_next_task_on_arrival
    TaskSet.wait = no_think_time


def uninstall() -> None:
    for name, function in _ORIGINAL.items():
        setattr(TaskSet, name, function)
