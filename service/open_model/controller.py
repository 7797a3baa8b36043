"""Open mode in one Locust process, by runner mode:

standalone: the gate, fed the swarm's rate (the plan moved by the shape) once the pool of
            users is spawned;
worker:     the gate, fed its share of the rate by its master;
master:     splits the swarm's rate over its workers every second and exports it.

The arrivals' accounts live in the metric store, so they travel to the master inside the
worker's report and add up exactly there, as the requests do.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import structlog

from service.metrics.exposition.family import Family
from service.metrics.snapshot import histogram_copy
from service.metrics.store import MetricStore
from service.open_model import user_loop
from service.open_model.gate import ArrivalGate
from service.open_model.plan import ArrivalPlan
from service.open_model.schedule import ArrivalSchedule
from service.open_model.swarm import RATE_MESSAGE, SHARE_REQUEST_MESSAGE, split, worker_pools
from service.operation.periodic import every
from service.operation.runner_mode import RunnerMode

logger = structlog.get_logger(__name__)
RATE_INTERVAL_S = 1.0
# A master sends every worker its share again this often even when it has not changed (a
# worker that reconnected gets it back).
RESEND_S = 10.0


class OpenModel:
    def __init__(
        self,
        environment: Any,
        plan: ArrivalPlan,
        store: MetricStore,
        mode: RunnerMode,
        level: Callable[[], float] = lambda: 1.0,
    ) -> None:
        self.environment = environment
        self.plan = plan
        self.store = store
        self.mode = mode
        self.level = level  # the shape's level now (1: no shape)
        self.accounts = store.enable_arrivals()
        self.running = False
        self.gate: ArrivalGate | None = None
        self.sent: dict[str, float] = {}
        self.sends = 0

    def attach(self) -> None:
        events = self.environment.events
        if self.mode is not RunnerMode.MASTER:
            schedule = ArrivalSchedule(self.plan.process, seed=random.randrange(2**32))
            self.gate = ArrivalGate(
                self.accounts, schedule, self.plan.max_delay_s, batch_s=self.plan.batch_s
            )
            user_loop.install(self.gate)
            events.test_stopping.add_listener(lambda **_: self.gate.stop())
            events.test_stop.add_listener(lambda **_: self.gate.close())
        if self.mode is RunnerMode.WORKER:
            runner = self.environment.runner
            runner.register_message(RATE_MESSAGE, self._on_share)
            # A share sent before this handler existed was dropped by Locust ("Unknown
            # message type"): ask for it again.
            runner.send_message(SHARE_REQUEST_MESSAGE)
            return
        if self.mode is RunnerMode.MASTER:
            self.environment.runner.register_message(SHARE_REQUEST_MESSAGE, self._on_request)
        events.spawning_complete.add_listener(self._on_spawned)
        events.test_stopping.add_listener(self._on_stopping)
        every(RATE_INTERVAL_S, self._update)

    def swarm_rate(self) -> float:
        return self.plan.swarm_rate(self.level()) if self.running else 0.0

    # -- standalone and master ----------------------------------------------------------

    def _on_spawned(self, **_kwargs: Any) -> None:
        if not self.running:
            logger.info("arrivals_start", rate=self.plan.swarm_rate(self.level()),
                        process=self.plan.process)  # fmt: skip
        self.running = True
        self._update()

    def _on_stopping(self, **_kwargs: Any) -> None:
        if self.running:
            logger.info("arrivals_stop", scheduled=self.accounts.scheduled)
        self.running = False
        self.sent.clear()

    def _update(self) -> None:
        if not self.running:
            return
        rate = self.swarm_rate()
        if self.gate is not None:
            self.gate.set_rate(rate)
            return
        runner = self.environment.runner
        self.sends += 1
        resend = self.sends % round(RESEND_S / RATE_INTERVAL_S) == 0
        shares = split(rate, worker_pools(runner.clients.values()))
        if shares.keys() != self.sent.keys():
            logger.info("arrival_split", rate=rate, workers=len(shares),
                        shares=sorted(round(share, 3) for share in shares.values()))  # fmt: skip
            self.sent = {worker: self.sent[worker] for worker in shares if worker in self.sent}
        for worker, share in shares.items():
            if resend or self.sent.get(worker) != share:
                runner.send_message(RATE_MESSAGE, {"rate": share}, client_id=worker)
                self.sent[worker] = share

    def _on_request(self, environment: Any, msg: Any, **_kwargs: Any) -> None:
        self.sent.pop(msg.node_id, None)  # sent again at the next update (within a second)

    # -- worker ---------------------------------------------------------------------------

    def _on_share(self, environment: Any, msg: Any, **_kwargs: Any) -> None:
        rate = msg.data.get("rate") if isinstance(msg.data, dict) else None
        if not isinstance(rate, int | float) or not 0 <= rate <= self.plan.max_rate:
            logger.warning("arrival_rate_ignored", rate=rate)
            return
        self.gate.set_rate(float(rate))

    # -- metrics --------------------------------------------------------------------------

    def families(self) -> Iterator[Family]:
        arrivals = Family(
            "loadgen_arrivals",
            "counter",
            "Open mode: scheduled arrivals by outcome (on_time, late, dropped) and, for late "
            "and dropped ones, reason (pool_busy: no idle user; generator_behind: the "
            "generator itself was late).",
            ("outcome", "reason"),
        )
        accounts = self.accounts
        for (outcome, reason), count in list(accounts.outcomes.items()):
            arrivals.add((outcome, reason), count)
        scheduled = Family(
            "loadgen_arrivals_scheduled", "counter", "Open mode: arrivals scheduled."
        )
        scheduled.add((), accounts.scheduled)
        target = Family(
            "loadgen_target_arrival_rate",
            "gauge",
            "Open mode: arrivals per second the swarm is asked for now.",
        )
        target.add((), self.swarm_rate())
        delay = Family(
            "loadgen_arrival_delay_seconds",
            "histogram",
            "Open mode: from each arrival's scheduled start to its actual start.",
            layout=self.store.layout,
        )
        counts, native = histogram_copy(accounts.delay)
        delay.add_histogram((), counts, accounts.delay.sum, native)
        yield from (arrivals, scheduled, target, delay)
