"""Which users to try next: grow geometrically until a step breaks the SLO, then narrow down
between the last step that held and the first that broke, until they are within the precision.

The first narrowing step is aimed, not halved, when the broken step shows the target saturated
(throughput well under what its users would make at the held rate per user): the knee is then
near the users that would make that throughput. If that step holds, the next is one precision
above it, which closes the bracket when the aim was right. Every other step bisects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# A broken step's throughput under this share of users x held rate per user: saturated.
SATURATED = 0.9
AIM_BELOW = 0.97  # aim just under the estimated knee, so that the aimed step holds


@dataclass
class AimedStep:
    """A step aimed at the estimated knee (`confirm` False) or one precision above an aimed
    step that held (`confirm` True); `issued` once `next_users` has handed it out."""

    users: int
    confirm: bool = False
    issued: bool = False


class Search:
    def __init__(self, start_users: int, max_users: int, precision: float, growth: float = 2.0):
        self.start_users = min(start_users, max_users)
        self.max_users = max_users
        self.precision = precision
        self.growth = growth
        self.held: int | None = None  # most users that held the SLO
        self.broke: int | None = None  # fewest users that broke it
        self.per_user_rate: float | None = None  # requests/s per user at the held step
        self._aim: AimedStep | None = None

    def record(self, users: int, held: bool, rate: float | None = None) -> None:
        aimed = self._aim if self._aim and self._aim.issued and self._aim.users == users else None
        if aimed:
            self._aim = None
        if held:
            if self.held is None or users >= self.held:
                self.held = users
                self.per_user_rate = rate / users if rate else self.per_user_rate
            if self.broke is not None and self.broke <= users:
                self.broke = None  # noise: a larger step held after all; look above it again
            if aimed and not aimed.confirm:
                above = users + max(1, math.floor(self.precision * users))
                self._aim = AimedStep(above, confirm=True)
            return
        first_break = self.broke is None
        self.broke = users if self.broke is None else min(self.broke, users)
        if first_break and rate and self.per_user_rate and self.held is not None:
            expected = self.per_user_rate * users
            if rate < SATURATED * expected:
                self._aim = AimedStep(math.floor(AIM_BELOW * rate / self.per_user_rate))

    def next_users(self) -> int | None:
        """The next step's users, or None: the knee is found (or the limit reached)."""
        if self.held is None and self.broke is None:
            return self.start_users
        if self.broke is None:
            if self.held >= self.max_users:
                return None
            return min(max(math.ceil(self.held * self.growth), self.held + 1), self.max_users)
        low = self.held or 0
        if self.broke - low <= max(1, self.precision * max(low, 1)):
            return None
        aim = self._aim
        if aim is not None and not aim.issued and low < aim.users < self.broke:
            aim.issued = True
            return aim.users
        self._aim = None
        return (low + self.broke) // 2 or None
