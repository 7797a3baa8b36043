"""The capacity search as a Locust LoadTestShape: each step's users for `step_s` seconds, the
first part to ramp and settle, the rest measured; then the verdict, the next step or the end,
and the answer written where `--capacity-json` (and `--capacity-html`) say."""

from __future__ import annotations

import json
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
        self.search = Search(plan.start_users, plan.max_users, plan.precision)
        self.steps: list[result.Step] = []
        self.users = self.search.next_users()
        self.previous_users = 0
        self.started = self.step_started = clock()
        self.before: readings.Snapshot | None = None
        self.answer: dict | None = None

    @property
    def settle_s(self) -> float:
        return self.plan.step_s * SETTLE_SHARE

    def tick(self) -> tuple[int, float] | None:
        if self.answer is not None:
            return None
        now = self.clock()
        if self.plan.max_duration_s and now - self.started >= self.plan.max_duration_s:
            return self.finish("max-duration")
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
            self.before, after, self.users, self.store.layout.bounds, self.lag_bounds()
        )
        if reading.total.requests == 0:
            # Nothing to judge: the target never answers, or workers run without the service
            # (a plain `locust --worker` ships no measurements to this master).
            logger.error("capacity_no_requests", users=self.users)
            return "no-requests"
        held = [s for s in self.steps if s.verdict.held]
        best = max(held, key=lambda s: s.reading.total.rate, default=None)
        verdict = judge(reading, best.reading if best else None, self.plan.slo)
        self.steps.append(result.Step(reading, verdict))
        logger.info(
            "capacity_step",
            users=self.users,
            rps=round(reading.total.rate, 1),
            error_ratio=round(reading.total.error_ratio, 4),
            p95_s=reading.total.p95_s,
            held=verdict.held,
            reasons=list(verdict.reasons),
        )
        if verdict.generator_limited:
            return "generator"
        self.search.record(self.users, verdict.held, reading.total.rate)
        following = self.search.next_users()
        if following is None:
            return "found" if self.search.broke is not None else "max-users"
        self.previous_users, self.users = self.users, following
        self.step_started, self.before = now, None
        return None

    def lag_bounds(self) -> tuple[float, ...]:
        return self.generator.monitor.health.lag.bounds

    def finish(self, stopped: str) -> None:
        workers = getattr(self.runner, "worker_count", 1) or 1
        self.answer = result.build(self.steps, self.plan.slo, stopped, workers)
        logger.info(
            "capacity_found",
            capacity_rps=round(self.answer["capacity_rps"], 1),
            users=self.answer["capacity_users"],
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
