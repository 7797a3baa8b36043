"""/healthz and /readyz on the metrics port, for compose and Kubernetes probes.

live:  the process serves HTTP (its event loop runs).
ready: users are running and the target answered (any HTTP status) within the ready window.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from service.metrics.store import MetricStore
from service.operation.periodic import every

Answer = tuple[str, list[tuple[str, str]], bytes]
RUNNING_STATES = ("spawning", "running")


class Probes:
    def __init__(
        self,
        environment: Any,
        store: MetricStore,
        ready_window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.environment = environment
        self.store = store
        self.ready_window_s = ready_window_s
        self.clock = clock
        self.answered = 0
        self.last_answer_at: float | None = None

    def start(self) -> None:
        every(1.0, self.sample, first_at_once=True)  # for the life of the process

    def sample(self) -> None:
        """Note when the count of answered requests last moved."""
        answered = self.store.answered_requests()
        if answered > self.answered:
            self.last_answer_at = self.clock()
        self.answered = answered

    def healthz(self, _environ: dict) -> Answer:
        return _json("200 OK", {"status": "ok"})

    def readyz(self, _environ: dict) -> Answer:
        runner = self.environment.runner
        problems = []
        if runner.state not in RUNNING_STATES or runner.user_count == 0:
            problems.append(f"no users running (runner {runner.state})")
        if self.last_answer_at is None:
            problems.append("the target has not answered yet")
        elif self.clock() - self.last_answer_at > self.ready_window_s:
            problems.append(f"the target has not answered for {self.ready_window_s:g} s")
        if problems:
            return _json("503 Service Unavailable", {"status": "not ready", "why": problems})
        return _json("200 OK", {"status": "ready", "users": runner.user_count})


def _json(status: str, body: dict) -> Answer:
    return status, [("Content-Type", "application/json")], json.dumps(body).encode() + b"\n"
