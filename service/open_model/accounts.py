"""Every scheduled arrival is exactly one of on_time, late or dropped; a late or dropped one
says why: the pool of users was busy (waiting on the target) or the generator itself was
behind (its loop woke late: CPU or a blocked loop). The counts and the start delays travel
from workers to the master as plain rows and add up there."""

from __future__ import annotations

from service.metrics.buckets import Layout
from service.metrics.series import ValueSeries

ON_TIME, LATE, DROPPED = "on_time", "late", "dropped"
POOL_BUSY, GENERATOR_BEHIND = "pool_busy", "generator_behind"
# (outcome, reason) in the order they are exported; on_time has no reason.
OUTCOMES = (
    (ON_TIME, ""),
    (LATE, POOL_BUSY),
    (LATE, GENERATOR_BEHIND),
    (DROPPED, POOL_BUSY),
    (DROPPED, GENERATOR_BEHIND),
)
# An arrival that starts within this of its intended time is on time: a loop that is not
# overloaded wakes a timer within a millisecond or two.
LATE_AFTER_S = 0.010


class ArrivalAccounts:
    """Arrivals scheduled, their outcomes, and the start delay of those that started
    (scheduled start to actual start)."""

    def __init__(self, layout: Layout, schema: int) -> None:
        self.layout = layout
        self.schema = schema
        # This process's own totals, never drained (its log line at the end of a test).
        self.drained_scheduled = 0
        self.drained_outcomes = dict.fromkeys(OUTCOMES, 0)
        self._start_over()

    def _start_over(self) -> None:
        self.scheduled = 0
        self.outcomes = dict.fromkeys(OUTCOMES, 0)
        self.delay = ValueSeries(self.layout, self.schema)

    def started(self, delay_s: float, generator_behind: bool) -> None:
        if delay_s <= LATE_AFTER_S:
            self.outcomes[ON_TIME, ""] += 1
        else:
            self.outcomes[LATE, GENERATOR_BEHIND if generator_behind else POOL_BUSY] += 1
        self.delay.observe(delay_s)

    def dropped(self, generator_behind: bool) -> None:
        self.outcomes[DROPPED, GENERATOR_BEHIND if generator_behind else POOL_BUSY] += 1

    @property
    def resolved(self) -> int:
        return sum(self.outcomes.values())

    def drain(self) -> list:
        """Everything counted since the last drain, as plain data (a worker's report)."""
        wire = [self.scheduled, [[*key, count] for key, count in self.outcomes.items()],
                self.delay.wire()]  # fmt: skip
        self.drained_scheduled += self.scheduled
        for key, count in self.outcomes.items():
            self.drained_outcomes[key] += count
        self._start_over()
        return wire

    def totals(self) -> dict[str, int]:
        """This process's arrivals since it started, by outcome (drained or not)."""
        totals = {"scheduled": self.drained_scheduled + self.scheduled}
        for (outcome, _reason), count in self.outcomes.items():
            totals[outcome] = totals.get(outcome, 0) + count
        for (outcome, _reason), count in self.drained_outcomes.items():
            totals[outcome] += count
        return totals

    def add(self, wire: list) -> None:
        """Add a worker's drained accounts (the master's side of `drain`)."""
        scheduled, outcomes, delay = wire
        self.scheduled += scheduled
        for outcome, reason, count in outcomes:
            key = (outcome, reason)
            if key not in self.outcomes:
                raise ValueError(f"unknown arrival outcome {outcome!r} ({reason!r})")
            self.outcomes[key] += count
        self.delay.add(*delay)
