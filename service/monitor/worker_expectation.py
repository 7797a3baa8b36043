"""How many workers the master should have, as the worker Deployment (or compose's --scale)
changes: `loadgen_workers_expected`.

It starts at --expect-workers. A worker that joins raises it to the workers running; one that
quits with a goodbye (a scale-down, a drained node: SIGTERM) lowers it; one that vanishes
without one (killed, out of memory, its node lost) does not: it is missing until a replacement
joins. So `kubectl scale` moves the expectation with it, and LoadgenWorkersMissing
(expected minus running) fires only for workers lost, or never started.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gevent
from locust.runners import STATE_MISSING

from service.metrics.exposition.family import Family
from service.operation.periodic import every


class WorkerExpectation:
    def __init__(self, runner: Any, expect_workers: int) -> None:
        self.runner = runner
        self.expected = expect_workers
        self._known: set[str] = set()
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        self._greenlet = every(1.0, self.sample, first_at_once=True)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)

    def sample(self) -> None:
        clients = list(self.runner.clients.items())
        known = {worker_id for worker_id, _ in clients}
        running = {worker_id for worker_id, node in clients if node.state != STATE_MISSING}
        # Listed at the last sample and gone now: it said goodbye (Locust drops a worker from
        # its clients only on the worker's quit message; a lost one stays listed, missing).
        # Missing or not before: a worker late with its heartbeats while it stops (a busy
        # machine) still said goodbye.
        left = len(self._known - known)
        self.expected = max(self.expected - left, len(running))
        self._known = known

    def families(self) -> Iterator[Family]:
        expected = Family(
            "loadgen_workers_expected",
            "gauge",
            "Workers the master expects: --expect-workers, then followed as workers join and "
            "leave with a goodbye (scaling); a worker lost without one stays expected.",
        )
        expected.add((), self.expected)
        yield expected
