"""Fault injection: latency, error rate and outage per path prefix, switchable at runtime."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

GARBAGE = 200  # what `apply` returns for a garbage answer: a success status, a broken body


class Latency(BaseModel):
    """Added delay: `fixed_ms`, or drawn from a distribution around `mean_ms`."""

    model_config = ConfigDict(extra="forbid")
    distribution: Literal["fixed", "uniform", "normal", "exponential"] = "fixed"
    fixed_ms: float = Field(0, ge=0, le=120_000)
    mean_ms: float = Field(0, ge=0, le=120_000)
    spread_ms: float = Field(0, ge=0, le=120_000)

    def draw_s(self, rng: random.Random) -> float:
        match self.distribution:
            case "fixed":
                ms = self.fixed_ms
            case "uniform":
                ms = rng.uniform(self.mean_ms - self.spread_ms, self.mean_ms + self.spread_ms)
            case "normal":
                ms = rng.gauss(self.mean_ms, self.spread_ms)
            case "exponential":
                ms = rng.expovariate(1 / self.mean_ms) if self.mean_ms else 0.0
        return max(0.0, ms) / 1000


class Stall(BaseModel):
    """The target stops answering for `for_s` in every `every_s` (on the wall clock, from
    `offset_s` past each multiple of `every_s`): a request that arrives during a stall waits
    until it ends (a GC pause, a failover). Targets with different offsets stall at different
    moments."""

    model_config = ConfigDict(extra="forbid")
    every_s: float = Field(gt=0, le=86_400)
    for_s: float = Field(gt=0, le=3_600)
    offset_s: float = Field(0.0, ge=0, le=86_400)

    def wait_s(self, now: float) -> float:
        phase = (now - self.offset_s) % self.every_s
        return self.for_s - phase if phase < self.for_s else 0.0


class FaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path_prefix: str = Field(pattern=r"^/", max_length=200)
    latency: Latency | None = None
    error_rate: float = Field(0, ge=0, le=1)
    error_status: int = Field(500, ge=400, le=599)
    outage: bool = False
    garbage: bool = False  # 200 with a body that is not JSON (a broken proxy, a bad deploy)
    stall: Stall | None = None

    @model_validator(mode="after")
    def _does_something(self) -> FaultRule:
        if not (self.latency or self.error_rate or self.outage or self.garbage or self.stall):
            raise ValueError("a fault rule needs latency, error_rate, outage, garbage or stall")
        if self.stall is not None and self.stall.for_s >= self.stall.every_s:
            raise ValueError("a stall must be shorter than its period")
        return self


class FaultBoard:
    """The active rules; the longest matching prefix wins for each request."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rules: dict[str, FaultRule] = {}
        self._rng = rng or random.Random()

    @property
    def rules(self) -> list[FaultRule]:
        return list(self._rules.values())

    def set(self, rule: FaultRule) -> None:
        self._rules[rule.path_prefix] = rule

    def remove(self, path_prefix: str) -> bool:
        return self._rules.pop(path_prefix, None) is not None

    def clear(self) -> None:
        self._rules.clear()

    def match(self, path: str) -> FaultRule | None:
        if not self._rules:
            return None
        best = None
        for prefix, rule in self._rules.items():
            if path.startswith(prefix) and (best is None or len(prefix) > len(best.path_prefix)):
                best = rule
        return best

    async def apply(self, rule: FaultRule) -> int | None:
        """Sleep the rule's latency; return the status to fail with, or None to proceed."""
        if rule.outage:
            return 503
        if rule.stall is not None:
            await asyncio.sleep(rule.stall.wait_s(time.time()))
        if rule.latency is not None:
            await asyncio.sleep(rule.latency.draw_s(self._rng))
        if rule.error_rate and self._rng.random() < rule.error_rate:
            return rule.error_status
        if rule.garbage:
            return GARBAGE
        return None
