"""Load shapes for continuous operation, selected by name: steady, spike, diurnal, ramp.

Peak users and spawn rate are Locust's own `--users`/`--spawn-rate`; the rest is
`ShapeSettings`. Shapes never end unless given a duration: the service runs for weeks.
Each shape is a level between its trough (0) and its peak (1) over time: users in closed
mode, the arrival rate in open mode (where the users stay at the peak: the pool).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from locust import LoadTestShape

DAY_S = 86_400.0


@dataclass(frozen=True)
class ShapeSettings:
    users: int = 10  # steady users; the peak of spike, diurnal and ramp
    spawn_rate: float = 1.0
    base_users: int = 0  # between spikes, the diurnal trough, the ramp's start
    period_s: float = 0.0  # spike: 60 s, diurnal: a day; 0 takes the shape's default
    spike_s: float = 10.0  # a spike lasts this long at the start of every period
    ramp_s: float = 300.0
    peak_hour: float = 14.0  # diurnal peak, hour of the (possibly compressed) day, UTC
    duration_s: float = 0.0  # 0: never end


class ContinuousShape(LoadTestShape):
    """A shape on wall-clock time (spike and diurnal agree across restarts and machines)."""

    abstract = True
    use_common_options = True  # -u and -r are the shape's peak, so Locust must not warn
    name: ClassVar[str]
    default_period_s: ClassVar[float] = 0.0

    def __init__(self, settings: ShapeSettings, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.settings = settings
        self.period_s = settings.period_s or self.default_period_s
        self.clock = clock
        self.started = clock()
        self.target_users = 0  # the last tick's answer, exported as a metric

    def reset_time(self) -> None:
        super().reset_time()
        self.started = self.clock()

    def get_run_time(self) -> float:
        return self.clock() - self.started

    def tick(self) -> tuple[int, float] | None:
        if self.settings.duration_s and self.get_run_time() >= self.settings.duration_s:
            return None
        self.target_users = self.users_now()
        return self.target_users, self.spawn_rate()

    def users_now(self) -> int:
        base = self.settings.base_users
        return base + round((self.settings.users - base) * self.level())

    def level(self) -> float:
        """Where the shape is now between its trough (0) and its peak (1)."""
        raise NotImplementedError

    def spawn_rate(self) -> float:
        return self.settings.spawn_rate


class SteadyShape(ContinuousShape):
    name = "steady"

    def level(self) -> float:
        return 1.0


class SpikeShape(ContinuousShape):
    """The seed's stress pattern as a shape: peak users in the first seconds of every period."""

    name = "spike"
    default_period_s = 60.0

    def level(self) -> float:
        return 1.0 if self.clock() % self.period_s < self.settings.spike_s else 0.0

    def spawn_rate(self) -> float:
        # A spike is a burst: reach the peak within a second, whatever --spawn-rate says.
        return max(self.settings.spawn_rate, float(self.settings.users - self.settings.base_users))


class DiurnalShape(ContinuousShape):
    """A cosine day: peak at `peak_hour`, trough twelve (scaled) hours later."""

    name = "diurnal"
    default_period_s = DAY_S

    def level(self) -> float:
        peak_offset_s = self.settings.peak_hour / 24.0 * self.period_s
        phase = ((self.clock() - peak_offset_s) % self.period_s) / self.period_s
        return (1.0 + math.cos(2.0 * math.pi * phase)) / 2.0


class RampShape(ContinuousShape):
    """From base users to the peak over `ramp_s`, then hold."""

    name = "ramp"

    def level(self) -> float:
        return min(1.0, self.get_run_time() / self.settings.ramp_s)


SHAPES: dict[str, type[ContinuousShape]] = {
    shape.name: shape for shape in (SteadyShape, SpikeShape, DiurnalShape, RampShape)
}


def make_shape(name: str, settings: ShapeSettings) -> ContinuousShape:
    return SHAPES[name](settings)
