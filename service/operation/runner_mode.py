"""Which of Locust's three ways a process runs, derived once from its runner."""

from __future__ import annotations

from enum import Enum
from typing import Any

from locust.runners import MasterRunner, WorkerRunner


class RunnerMode(Enum):
    STANDALONE = "standalone"  # one process (or --processes' parent is a master)
    MASTER = "master"  # merges its workers' reports, runs no users
    WORKER = "worker"  # runs users, reports to its master

    @classmethod
    def of(cls, runner: Any) -> RunnerMode:
        if isinstance(runner, MasterRunner):
            return cls.MASTER
        if isinstance(runner, WorkerRunner):
            return cls.WORKER
        return cls.STANDALONE

    @property
    def sends_requests(self) -> bool:
        return self is not RunnerMode.MASTER
