"""Open mode's settings, checked across each other once at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ArrivalPlan:
    rate: float  # arrivals per second across the swarm; a shape's peak
    base_rate: float  # a shape's trough
    process: str  # constant or poisson
    max_delay_s: float  # an arrival waits this long for an idle user, then is dropped
    max_rate: float
    batch_s: float = 0.0  # arrivals due this close together go out in one wake

    @classmethod
    def from_values(cls, v: Mapping[str, Any]) -> ArrivalPlan | None:
        """The plan, or None in closed mode (no --arrival-rate); ValueError when the values
        do not fit together."""
        rate = v["arrival_rate"]
        if not rate:
            if v["base_arrival_rate"]:
                raise ValueError("--base-arrival-rate needs --arrival-rate (open mode)")
            return None
        if rate > v["max_arrival_rate"]:
            raise ValueError(
                f"--arrival-rate {rate:g} is above the limit {v['max_arrival_rate']:g} "
                "(raise --max-arrival-rate)"
            )
        if v["base_arrival_rate"] > rate:
            raise ValueError(
                f"--base-arrival-rate {v['base_arrival_rate']:g} is above --arrival-rate {rate:g}"
            )
        if v["base_arrival_rate"] and not v["shape"]:
            raise ValueError("--base-arrival-rate needs a --shape (steady, spike, diurnal, ramp)")
        if v["shape"] == "capacity":
            raise ValueError(
                "--shape capacity steps the load itself: leave out --arrival-rate (the search "
                "steps the rate with --capacity-model open)"
            )
        return cls(
            rate=rate,
            base_rate=v["base_arrival_rate"],
            process=v["arrival_process"],
            max_delay_s=v["max_arrival_delay"],
            max_rate=v["max_arrival_rate"],
            batch_s=v["arrival_batch"],
        )

    @classmethod
    def for_capacity_search(cls, v: Mapping[str, Any]) -> ArrivalPlan:
        """The capacity search's (open model): it steps the rate, up to the cap, as a level
        of the cap (`CapacityShape.level`)."""
        if v["arrival_rate"] or v["base_arrival_rate"]:
            raise ValueError(
                "--shape capacity steps the rate itself: leave out --arrival-rate and "
                "--base-arrival-rate"
            )
        return cls(
            rate=v["max_arrival_rate"],
            base_rate=0.0,
            process=v["arrival_process"],
            max_delay_s=v["max_arrival_delay"],
            max_rate=v["max_arrival_rate"],
            batch_s=v["arrival_batch"],
        )

    def swarm_rate(self, level: float) -> float:
        """The rate at a shape's level (0: trough, 1: peak)."""
        return self.base_rate + (self.rate - self.base_rate) * level
