"""Which load to try next (users in closed mode, arrivals per second in open mode): grow
geometrically until a step breaks the SLO, then narrow down between the last step that held and
the first that broke, until they are within the precision.

The first narrowing step is aimed, not halved, when the broken step shows the target saturated
(throughput well under what its load would make at the held rate per unit of load): the knee
is then near the load that would make that throughput. While aimed steps hold and stay within
ESTIMATE_SLACK of that estimate, the next is one precision above the last, which closes the
bracket as soon as one breaks (a saturated target holds little beyond its throughput: halving
towards the far broken step would spend steps there). Every other step bisects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# A broken step's throughput under this share of load x held rate per unit: saturated.
SATURATED = 0.9
AIM_BELOW = 0.97  # aim just under the estimated knee, so that the aimed step holds
ESTIMATE_SLACK = 1.1  # step up by the precision while under this multiple of the estimate


@dataclass
class AimedStep:
    """A step aimed at the estimated knee (`confirm` False) or one precision above an aimed
    step that held (`confirm` True); `issued` once `next_load` has handed it out."""

    load: int
    confirm: bool = False
    issued: bool = False


class Search:
    def __init__(self, start: int, maximum: int, precision: float, growth: float = 2.0):
        self.start = min(start, maximum)
        self.maximum = maximum
        self.precision = precision
        self.growth = growth
        self.held: int | None = None  # the most load that held the SLO
        self.broke: int | None = None  # the least load that broke it
        self.per_unit_rate: float | None = None  # requests/s per unit of load, held step
        self.estimate: float | None = None  # the knee a saturated broken step points at
        self._aim: AimedStep | None = None

    def record(self, load: int, held: bool, rate: float | None = None) -> None:
        aimed = self._aim if self._aim and self._aim.issued and self._aim.load == load else None
        if aimed:
            self._aim = None
        if held:
            if self.held is None or load >= self.held:
                self.held = load
                self.per_unit_rate = rate / load if rate else self.per_unit_rate
            if self.broke is not None and self.broke <= load:
                self.broke = None  # noise: a larger step held after all; look above it again
            above = load + max(1, math.floor(self.precision * load))
            if aimed and (not aimed.confirm or above <= ESTIMATE_SLACK * (self.estimate or 0)):
                self._aim = AimedStep(above, confirm=True)
            return
        first_break = self.broke is None
        self.broke = load if self.broke is None else min(self.broke, load)
        if first_break and rate and self.per_unit_rate and self.held is not None:
            expected = self.per_unit_rate * load
            if rate < SATURATED * expected:
                self.estimate = rate / self.per_unit_rate
                self._aim = AimedStep(math.floor(AIM_BELOW * self.estimate))

    def next_load(self) -> int | None:
        """The next step's load, or None: the knee is found (or the limit reached)."""
        if self.held is None and self.broke is None:
            return self.start
        if self.broke is None:
            if self.held >= self.maximum:
                return None
            return min(max(math.ceil(self.held * self.growth), self.held + 1), self.maximum)
        low = self.held or 0
        if self.broke - low <= max(1, self.precision * max(low, 1)):
            return None
        aim = self._aim
        if aim is not None and not aim.issued and low < aim.load < self.broke:
            aim.issued = True
            return aim.load
        self._aim = None
        return (low + self.broke) // 2 or None
