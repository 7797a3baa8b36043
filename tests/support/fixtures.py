"""Fixtures that start real processes (sandbox, Locust) on loopback and clean them up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import (
    LOCUSTFILES,
    LocustRun,
    Sandbox,
    free_port,
    read_csv,
    start_locust,
    stop_process,
)


@pytest.fixture
def start_sandbox() -> Iterator:
    """Start sandboxes with given SANDBOX_* settings; all are stopped after the test."""
    started: list[Sandbox] = []

    def start(**env: str) -> Sandbox:
        sandbox = Sandbox(env=env).start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """One default sandbox shared by a module's tests."""
    sandbox = Sandbox().start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def run_locust(tmp_path: Path):
    """Run a locustfile headless against a host, bounded in users and seconds."""

    def run(
        locustfile: str,
        host: str,
        users: int,
        seconds: int,
        classes: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> LocustRun:
        prefix = tmp_path / f"run_{len(list(tmp_path.iterdir()))}"
        command = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(LOCUSTFILES / locustfile),
            "--host",
            host,
            "--headless",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{seconds}s",
            "--stop-timeout",
            "5",
            "--only-summary",
            "--json-file",
            f"{prefix}",
            "--csv",
            f"{prefix}",
            "--csv-full-history",
            *classes,
        ]
        completed = subprocess.run(
            command,
            cwd=tmp_path,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
        entries = json.loads(Path(f"{prefix}.json").read_text())
        return LocustRun(
            returncode=completed.returncode,
            stderr=completed.stderr,
            stats={(e["method"], e["name"]): e for e in entries},
            failures=read_csv(Path(f"{prefix}_failures.csv")),
            exceptions=read_csv(Path(f"{prefix}_exceptions.csv")),
            history=[
                row
                for row in read_csv(Path(f"{prefix}_stats_history.csv"))
                if row["Name"] == "Aggregated"
            ],
        )

    return run


class Cluster:
    """cluster(master_args, workers, worker_ids) -> (master, workers): the seed's locustfile
    as a master and its workers on loopback; add_worker() joins one more. All are stopped
    after the test."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.master_port = free_port()
        self.started: list[subprocess.Popen] = []

    def __call__(self, master_args: list[str], workers: int, worker_ids=()) -> tuple:
        master = start_locust(
            LOCUSTFILES / "locustfile.py",
            *master_args,
            "--master",
            "--expect-workers",
            str(workers),
            "--master-bind-port",
            str(self.master_port),
            cwd=self.cwd,
        )
        self.started.append(master)
        ids = list(worker_ids) or [None] * workers
        return master, [self.add_worker(worker_id) for worker_id in ids]

    def add_worker(self, worker_id: str | None = None) -> subprocess.Popen:
        worker = start_locust(
            LOCUSTFILES / "locustfile.py",
            "--worker",
            "--master-port",
            str(self.master_port),
            *(["--worker-id", worker_id] if worker_id else []),
            cwd=self.cwd,
        )
        self.started.append(worker)
        return worker


@pytest.fixture
def cluster(tmp_path) -> Iterator[Cluster]:
    started = Cluster(tmp_path)
    yield started
    for process in started.started:
        stop_process(process)
