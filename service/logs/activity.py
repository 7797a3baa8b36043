"""The run's story in the log: test start/stop, spawning complete, workers joining and lost,
and, once per interval, failures per endpoint and reason and slow requests per endpoint.

Failures and slow requests are read from the metric store (totals it already keeps), never
logged per request: a failure storm is one line per endpoint and reason per interval.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

import gevent
import structlog

from service.metrics.snapshot import stable_items
from service.metrics.store import MetricStore
from service.operation.periodic import every
from service.operation.runner_mode import RunnerMode

logger = structlog.get_logger("securenet.activity")


class ActivityLog:
    def __init__(
        self,
        environment: Any,
        store: MetricStore,
        slow_s: float,
        interval_s: float,
        mode: RunnerMode,
    ) -> None:
        self.environment = environment
        self.mode = mode
        self.store = store
        self.interval_s = interval_s
        bounds = store.layout.bounds
        # Buckets from here on hold only requests slower than the threshold (bucket i covers
        # (bounds[i-1], bounds[i]]); the one straddling it is left out, so the count is exact
        # for "slower than slow_bound_s".
        index = min(bisect_left(bounds, slow_s), len(bounds) - 1)
        self.slow_bound_s = bounds[index]
        self.slow_from = index + 1
        self.seen: dict[tuple[str, str], tuple[dict[str, int], int]] = {}
        self.workers: dict[str, str] = {}
        self._greenlets: list[gevent.Greenlet] = []

    def attach(self) -> None:
        events = self.environment.events
        events.test_start.add_listener(self._test_start)
        events.test_stop.add_listener(self._test_stop)
        events.spawning_complete.add_listener(self._spawning_complete)
        events.quit.add_listener(self._quit)
        self._greenlets = [every(self.interval_s, self.report)]
        if self.mode is RunnerMode.MASTER:
            self._greenlets.append(every(1.0, self.watch_workers))

    def _test_start(self, **_kwargs: Any) -> None:
        logger.info("test_start", host=self.environment.host)

    def _test_stop(self, **_kwargs: Any) -> None:
        self.report()  # the last interval, before the totals stop moving
        logger.info("test_stop", requests=self.environment.stats.total.num_requests)

    def _spawning_complete(self, user_count: int, **_kwargs: Any) -> None:
        logger.info("spawning_complete", users=user_count)

    def _quit(self, **_kwargs: Any) -> None:
        gevent.killall(self._greenlets, block=False)

    def watch_workers(self) -> None:
        runner = self.environment.runner
        now = {worker_id: node.state for worker_id, node in list(runner.clients.items())}
        for worker_id, state in now.items():
            before = self.workers.get(worker_id)
            if before is None:
                logger.info("worker_joined", worker=worker_id, workers=len(now))
            elif state == "missing" and before != "missing":
                logger.warning("worker_lost", worker=worker_id, workers=len(now))
        for worker_id in self.workers.keys() - now.keys():
            logger.info("worker_left", worker=worker_id, workers=len(now))
        self.workers = now

    def report(self) -> None:
        """One line per endpoint and reason with failures, one per endpoint with slow requests,
        since the last report."""
        for series in self.store.each_series():
            method, name = series.method, series.name
            reasons = dict(stable_items(series.reasons))
            slow = sum(series.counts[self.slow_from :])
            seen_reasons, seen_slow = self.seen.get((method, name), ({}, 0))
            for reason, count in reasons.items():
                new = count - seen_reasons.get(reason, 0)
                if new > 0:
                    logger.warning(
                        "request_failures",
                        method=method,
                        endpoint=name,
                        reason=reason,
                        count=new,
                        interval_s=self.interval_s,
                        aggregated=True,
                    )
            if slow > seen_slow:
                logger.warning(
                    "slow_requests",
                    method=method,
                    endpoint=name,
                    count=slow - seen_slow,
                    slower_than_s=self.slow_bound_s,
                    interval_s=self.interval_s,
                    aggregated=True,
                )
            self.seen[(method, name)] = (reasons, slow)
