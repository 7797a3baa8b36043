"""Capacity by construction: per path prefix, at most `concurrency` requests in service at
once, each taking `service_ms`; the rest wait in a queue of at most `queue`, beyond which they
are refused (503). A pool serves concurrency / service time requests/s, known before any load
test, so a capacity search can be checked against it.

The wait happens outside the server's own timing (as in a listen backlog or a proxy's queue),
the service time inside it: client time minus server time is the queueing.

Each slot keeps its own clock: a request that was already waiting when its slot came free is
served from that moment, not from when the event loop got round to handing the slot over, so
the loop's own lateness (a fraction of a millisecond per request) does not pile up into a
capacity a few per cent below concurrency / service time.
"""

from __future__ import annotations

import asyncio
import heapq

from pydantic import BaseModel, ConfigDict, Field

DONE_AT_KEY = "sandbox.done_at"  # when the request's service ends (the loop's clock)


class CapacityRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path_prefix: str = Field("/", pattern=r"^/", max_length=200)
    concurrency: int = Field(ge=1, le=10_000)
    service_ms: float = Field(ge=0, le=60_000, allow_inf_nan=False)
    queue: int = Field(1000, ge=0, le=100_000)

    @property
    def requests_per_s(self) -> float:
        return self.concurrency / (self.service_ms / 1000) if self.service_ms else float("inf")


class Pool:
    """One rule's slots and queue."""

    def __init__(self, rule: CapacityRule) -> None:
        self.rule = rule
        self.slots = asyncio.Semaphore(rule.concurrency)
        self.free_at = [0.0] * rule.concurrency  # each slot's clock: when it comes free
        self.waiting = 0
        self.refused = 0

    def serve(self, arrived: float) -> float:
        """A slot was acquired for a request that arrived at `arrived`: when its service
        ends, on the clock of the slot that came free first."""
        start = max(arrived, heapq.heappop(self.free_at))
        done_at = start + self.rule.service_ms / 1000
        heapq.heappush(self.free_at, done_at)
        return done_at


class CapacityBoard:
    """The active pools; the longest matching prefix's pool serves a request."""

    def __init__(self) -> None:
        self._pools: dict[str, Pool] = {}

    @property
    def rules(self) -> list[CapacityRule]:
        return [pool.rule for pool in self._pools.values()]

    def set(self, rule: CapacityRule) -> None:
        self._pools[rule.path_prefix] = Pool(rule)

    def remove(self, path_prefix: str) -> bool:
        return self._pools.pop(path_prefix, None) is not None

    def clear(self) -> None:
        self._pools.clear()

    def pool_for(self, path: str) -> Pool | None:
        matching = [prefix for prefix in self._pools if path.startswith(prefix)]
        return self._pools[max(matching, key=len)] if matching else None


async def _refuse(send) -> None:
    body = b'{"detail": "over capacity: the queue is full"}'
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"1"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class CapacityLimit:
    """Outermost middleware: a slot of the request's pool, or a place in its queue, or 503.
    The control plane and /metrics are exempt (they are how the sandbox is observed)."""

    def __init__(self, app, board: CapacityBoard, exempt: tuple[str, ...]) -> None:
        self.app = app
        self.board = board
        self.exempt = exempt

    async def __call__(self, scope, receive, send) -> None:
        pool = None
        if scope["type"] == "http" and not scope["path"].startswith(self.exempt):
            pool = self.board.pool_for(scope["path"])
        if pool is None:
            await self.app(scope, receive, send)
            return
        if pool.slots.locked() and pool.waiting >= pool.rule.queue:
            pool.refused += 1
            await _refuse(send)
            return
        arrived = asyncio.get_running_loop().time()
        pool.waiting += 1
        try:
            await pool.slots.acquire()
        finally:
            pool.waiting -= 1
        try:
            scope[DONE_AT_KEY] = pool.serve(arrived)
            await self.app(scope, receive, send)
        finally:
            pool.slots.release()


class ServiceTime:
    """Innermost of the timed middlewares: a request in a pool holds its slot for the pool's
    service time, its own handling included (the answer leaves when both are done), so the
    pool serves exactly concurrency / service time requests/s while handlers are quicker."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        done_at = scope.get(DONE_AT_KEY)
        if done_at is None:
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()

        async def send_when_served(message) -> None:
            if message["type"] == "http.response.start":
                await asyncio.sleep(max(0.0, done_at - loop.time()))
            await send(message)

        await self.app(scope, receive, send_when_served)
