"""Open mode across the swarm: the swarm's rate now (the plan, moved by the shape), and how
a master splits it over its workers, in proportion to their pools of users, again whenever a
worker joins, leaves or is lost."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from locust.runners import STATE_RUNNING, STATE_SPAWNING

RATE_MESSAGE = "loadgen_arrival_rate"
# A worker that starts following late asks its master for its share (instead of waiting for
# the next resend).
SHARE_REQUEST_MESSAGE = "loadgen_arrival_share_request"


def split(rate: float, pools: Mapping[str, int]) -> dict[str, float]:
    """Each worker's share of `rate`, by the users it runs (evenly while none reported)."""
    if not pools:
        return {}
    total = sum(pools.values())
    if total <= 0:
        return {worker: rate / len(pools) for worker in pools}
    return {worker: rate * users / total for worker, users in pools.items()}


def worker_pools(workers: Iterable[Any]) -> dict[str, int]:
    """The users of each worker that runs them (a missing or stopped worker has none)."""
    return {
        worker.id: sum(worker.user_classes_count.values())
        for worker in workers
        if worker.state in (STATE_SPAWNING, STATE_RUNNING)
    }
