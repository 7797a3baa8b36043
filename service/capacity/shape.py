"""The capacity search as a Locust LoadTestShape: each step's load for `step_s` seconds, the
first part to ramp and settle, the rest measured; then the verdict, the next step or the end,
and the answer written where `--capacity-json` (and `--capacity-html`) say.

The load is users in the closed model. In the open model it is the arrival rate (the open
model reads it as `level`, a share of the plan's cap), served by a pool of users sized to the
step: enough to hold its arrivals for the p95 SLO (MIN_POOL_S at least)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from locust import LoadTestShape

from service.capacity import readings, result
from service.capacity.search import Search
from service.capacity.verdict import Slo, judge

logger = structlog.get_logger("securenet.capacity")
SETTLE_SHARE = 0.4  # of each step: ramp to its users, let queues settle, then measure
MODELS = ("auto", "closed", "open")
# Open model: the pool holds each step's arrivals for the p95 SLO (at least MIN_POOL_S): a
# target slower than that for most requests breaks the SLO anyway, and a larger pool only
# queues more requests at a saturated target (and costs the generator its loop).
MIN_POOL_S = 1.0
MIN_POOL = 10
# Open model: a step that broke leaves a backlog (arrivals waiting for a user, requests queued
# at the target) that would land in the next step. Arrivals pause until no request has
# completed for DRAINED_AFTER_S (longer than a worker's 3-second report), at most DRAIN_MAX_S.
DRAINED_AFTER_S = 4.0
DRAIN_MAX_S = 60.0


@dataclass(frozen=True)
class CapacityPlan:
    start_users: int
    max_users: int
    step_s: float
    precision: float
    max_duration_s: float  # 0: no limit
    max_spawn_rate: float
    json_file: Path | None
    html_file: Path | None
    slo: Slo
    target_metrics: str | None = None  # the target's /metrics, for its server-side time
    model: str = "closed"  # or open: step the arrival rate (auto until `model.resolve`)
    start_rate: float = 10.0  # open model: arrivals per second of the first step
    max_rate: float = 5000.0  # open model: the rate's cap (the arrival plan's rate)
    model_reason: str = ""  # why this model (asked for, or the default and why)

    @property
    def open(self) -> bool:
        return self.model == "open"

    def pool(self, rate: float) -> int:
        """Open model: the users that hold `rate` arrivals per second."""
        seconds = max(MIN_POOL_S, self.slo.p95_s)
        return min(self.max_users, max(MIN_POOL, math.ceil(rate * seconds)))


@dataclass
class Drain:
    """A broken open step's backlog draining: done once no request has completed for
    DRAINED_AFTER_S, or after DRAIN_MAX_S whatever is left."""

    started: float
    completed: int
    changed: float | None = None

    def done(self, completed: int, now: float) -> bool:
        if self.changed is None or completed != self.completed:
            self.completed, self.changed = completed, now
        quiet = now - self.changed >= DRAINED_AFTER_S
        return quiet or now - self.started >= DRAIN_MAX_S


class CapacityShape(LoadTestShape):
    def __init__(
        self,
        plan: CapacityPlan,
        store: Any,
        generator: Any,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.plan = plan
        self.store = store
        self.generator = generator
        self.clock = clock
        if plan.open:
            start, maximum = math.ceil(plan.start_rate), math.floor(plan.max_rate)
        else:
            start, maximum = plan.start_users, plan.max_users
        self.search = Search(start, maximum, plan.precision)
        self.steps: list[result.Step] = []
        self.load = self.search.next_load()
        self.previous_users = 0
        self.started = self.step_started = clock()
        self.before: readings.Snapshot | None = None
        self.answer: dict | None = None
        self.drain: Drain | None = None

    @property
    def settle_s(self) -> float:
        return self.plan.step_s * SETTLE_SHARE

    @property
    def users(self) -> int:
        """The step's users: its load (closed), the pool that serves its rate (open)."""
        return self.plan.pool(self.load) if self.plan.open else self.load

    def level(self) -> float:
        """Open model: the step's rate as a share of the plan's cap (the open model's level);
        none while a broken step's backlog drains."""
        return 0.0 if self.drain is not None else self.load / self.plan.max_rate

    def tick(self) -> tuple[int, float] | None:
        if self.answer is not None:
            return None
        now = self.clock()
        if self.plan.max_duration_s and now - self.started >= self.plan.max_duration_s:
            return self.finish("max-duration")
        if self.drain is not None:
            if not self.drain.done(readings.completed(self.store), now):
                return self.users, self.plan.max_spawn_rate
            logger.info("capacity_drained", seconds=round(now - self.drain.started, 1))
            self.drain, self.step_started = None, now
        elapsed = now - self.step_started
        if self.before is None and elapsed >= self.settle_s:
            self.before = readings.take(self.store, self.generator, now, self.plan.target_metrics)
        if self.before is not None and elapsed >= self.plan.step_s:
            stopped = self.end_step(now)
            if stopped:
                return self.finish(stopped)
        # Reach the step's users within half the settling time.
        change = abs(self.users - self.previous_users)
        rate = min(self.plan.max_spawn_rate, max(1.0, change / (self.settle_s / 2)))
        return self.users, rate

    def end_step(self, now: float) -> str | None:
        after = readings.take(self.store, self.generator, now, self.plan.target_metrics)
        reading = readings.between(
            self.before, after, self.users, self.store.layout.bounds, self.lag_bounds(),
            arrival_rate=self.load if self.plan.open else None,
        )  # fmt: skip
        if reading.total.requests == 0:
            # Nothing to judge: the target never answers, or workers run without the service
            # (a plain `locust --worker` ships no measurements to this master).
            logger.error("capacity_no_requests", users=self.users, load=self.load)
            return "no-requests"
        held = [s.reading for s in self.steps if s.verdict.held]
        verdict = judge(reading, self.plan.slo, held)
        self.steps.append(result.Step(reading, verdict))
        logger.info(
            "capacity_step",
            users=self.users,
            **({"arrival_rate": self.load} if self.plan.open else {}),
            rps=round(reading.total.rate, 1),
            error_ratio=round(reading.total.error_ratio, 4),
            p95_s=reading.total.p95_s,
            held=verdict.held,
            reasons=list(verdict.reasons),
        )
        if verdict.generator_limited:
            return "generator"
        self.search.record(self.load, verdict.held, reading.total.rate)
        following = self.search.next_load()
        if following is None:
            if self.search.broke is not None:
                return "found"
            return "max-rate" if self.plan.open else "max-users"
        self.previous_users, self.load = self.users, following
        self.step_started, self.before = now, None
        if self.plan.open and not verdict.held:
            self.drain = Drain(now, readings.completed(self.store))
        return None

    def lag_bounds(self) -> tuple[float, ...]:
        return self.generator.monitor.health.lag.bounds

    def finish(self, stopped: str) -> None:
        workers = getattr(self.runner, "worker_count", 1) or 1
        self.answer = result.build(self.steps, self.plan.slo, stopped, workers, self.plan.model)
        self.answer["model_reason"] = self.plan.model_reason
        logger.info(
            "capacity_found",
            capacity_rps=round(self.answer["capacity_rps"], 1),
            users=self.answer["capacity_users"],
            load=self.answer["capacity_load"],
            at_least=self.answer["at_least"],
            limit=self.answer["limit"],
        )
        if self.plan.json_file is not None:
            text = json.dumps(self.answer, indent=2, allow_nan=False)
            self.plan.json_file.write_text(text + "\n", encoding="utf-8")
        if self.plan.html_file is not None:
            from service.capacity import report  # plotting only when a report is asked for

            report.write(self.answer, self.plan.html_file)
        return None
