"""What the regression benchmark simulates: the conditions it injects and the knobs of the
synthetic history (all seeded, so a run is reproducible).

The world is wider than one endpoint's: each endpoint wanders by its own hour-to-hour latency
noise (2 % to 10 %, a few endpoints of every rate at each level), its latency follows its load,
its share of the traffic changes now and then (a traffic-mix change, benign), and benign blips
come twice a day, as before."""

from __future__ import annotations

import time
from dataclasses import dataclass

DAY_S = 86400


@dataclass(frozen=True)
class Condition:
    """A persistent change of one endpoint, and the alert family expected to catch it."""

    name: str
    family: str  # latency | errors | throughput
    latency_scale: float = 1.0
    tail_only: bool = False
    error_ratio: float | None = None
    traffic_factor: float = 1.0


CONDITIONS = (
    Condition("p95 +10%", "latency", latency_scale=1.10),
    Condition("p95 +20%", "latency", latency_scale=1.20),
    Condition("p95 +30%", "latency", latency_scale=1.30),
    Condition("p95 +50%", "latency", latency_scale=1.50),
    Condition("p95 +100%", "latency", latency_scale=2.00),
    Condition("p99 x2, p50 same", "latency", tail_only=True),
    Condition("errors 0.1% -> 1%", "errors", error_ratio=0.01),
    Condition("errors 0.1% -> 5%", "errors", error_ratio=0.05),
    Condition("throughput -50%", "throughput", traffic_factor=0.5),
)


@dataclass(frozen=True)
class Plan:
    seed: int = 1
    days: int = 22
    # Clean days before the first regression: the rules' longest look back (7 daily
    # offsets of a 1-day error window) plus one.
    warmup_days: int = 8
    rates: tuple[float, ...] = (0.1, 1.0, 10.0, 50.0)
    # Hour-to-hour latency noise (log-normal sigma): each endpoint has one of these.
    latency_noises: tuple[float, ...] = (0.02, 0.03, 0.05, 0.07, 0.10)
    # Endpoints per (rate, noise) cell.
    endpoints_per_cell: int = 2
    step_s: int = 15
    trial_s: int = 3 * 3600
    # After a regression is rolled back, alerts may take this long to resolve: not clean time.
    cooldown_s: int = 3600
    night_share: float = 0.2
    traffic_noise: float = 0.10
    # Latency follows the load: scale x (rate / peak rate) ** elasticity (20 % faster at night
    # at a fifth of the peak; 2 % slower in an hour with 10 % more traffic).
    load_elasticity: float = 0.15
    # Traffic-mix changes: now and then an endpoint's share of the traffic moves for good by a
    # factor in this range (and its latency follows, by the elasticity above).
    mix_changes_per_week: float = 0.5
    mix_change_factor: tuple[float, float] = (0.75, 1.33)
    blips_per_day: float = 2.0
    blip_minutes: tuple[float, float] = (1.0, 5.0)
    blip_factor: tuple[float, float] = (1.5, 3.0)
    resets_per_week: float = 2.0
    base_error_ratio: float = 0.001
    # Latency bucket layout of the simulated service (`--metrics-quantile-error`).
    quantile_error: float = 0.25
    # History ends at the last midnight UTC more than a day ago: wholly in the past, and the
    # same times of day on every run.
    end: int = (int(time.time()) // DAY_S - 1) * DAY_S

    @property
    def start(self) -> int:
        return self.end - self.days * DAY_S
