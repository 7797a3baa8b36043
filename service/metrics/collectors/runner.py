"""The families of Locust's runner: users, state, the load shape's target, workers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from locust.runners import (
    STATE_CLEANUP,
    STATE_INIT,
    STATE_MISSING,
    STATE_RUNNING,
    STATE_SPAWNING,
    STATE_STOPPED,
    STATE_STOPPING,
)

from service.metrics.exposition.family import Family
from service.metrics.snapshot import stable_items
from service.operation.runner_mode import RunnerMode

RUNNER_STATES = (
    STATE_INIT,
    STATE_SPAWNING,
    STATE_RUNNING,
    STATE_CLEANUP,
    STATE_STOPPING,
    STATE_STOPPED,
    STATE_MISSING,
)
WORKER_STATES = (STATE_INIT, STATE_SPAWNING, STATE_RUNNING, STATE_STOPPED, STATE_MISSING)


def runner_families(environment: Any, mode: RunnerMode) -> Iterator[Family]:
    """Users, the runner's state, the load shape's target, the master's workers."""
    runner = environment.runner
    master = mode is RunnerMode.MASTER
    counts = runner.reported_user_classes_count if master else runner.user_classes_count
    users = Family("loadgen_users", "gauge", "Running users, by user class.", ("user_class",))
    for user_class in environment.user_classes:
        users.add((user_class.__name__,), counts.get(user_class.__name__, 0))
    target = Family("loadgen_target_users", "gauge", "Users the runner is asked to run.")
    target.add((), runner.target_user_count or 0)
    state = Family("loadgen_runner_state", "gauge", "1 for the runner's current state.", ("state",))
    for name in RUNNER_STATES:
        state.add((name,), int(runner.state == name))
    spawning = Family("loadgen_spawning", "gauge", "1 while users are being spawned.")
    spawning.add((), int(runner.state == STATE_SPAWNING))
    yield from (users, target, state, spawning)
    shape = environment.shape_class
    if shape is not None:
        shape_target = Family(
            "loadgen_shape_target_users",
            "gauge",
            "Users the load shape asks for at its last tick.",
            ("shape",),
        )
        shape_target.add(
            (getattr(shape, "name", type(shape).__name__),),
            getattr(shape, "target_users", runner.target_user_count or 0),
        )
        yield shape_target
    if master:
        workers = Family(
            "loadgen_workers", "gauge", "Workers known to the master, by state.", ("state",)
        )
        by_state = [node.state for _, node in stable_items(runner.clients)]
        for name in WORKER_STATES:
            workers.add((name,), by_state.count(name))
        yield workers  # loadgen_workers_expected: service.monitor.worker_expectation
