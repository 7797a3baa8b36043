"""Bounds what Locust accumulates over weeks, without changing a total it reports.

Locust keeps, per stats entry, one counter per second of the run (it reads only the last
~12), appends a history record every 5 s (its charts), and one error entry per distinct
message. A periodic trim keeps the recent window of each; error entries beyond the budget fold
into one entry per endpoint, so occurrence totals stay exact.
"""

from __future__ import annotations

from typing import Any

from locust.stats import RequestStats, StatsError

# Locust's current_rps reads the seconds [last - 12, last - 2]; keep a margin.
PER_SECOND_KEEP_S = 20
FOLDED_ERROR = "other errors (distinct messages beyond --max-error-entries, folded)"


class StatsRetention:
    def __init__(self, history_keep: int = 720, max_error_entries: int = 200) -> None:
        self.history_keep = history_keep
        self.max_error_entries = max_error_entries

    def trim(self, stats: RequestStats, now: float) -> None:
        cutoff = int(now) - PER_SECOND_KEEP_S
        for entry in (stats.total, *list(stats.entries.values())):
            _drop_before(entry.num_reqs_per_sec, cutoff)
            _drop_before(entry.num_fail_per_sec, cutoff)
        if len(stats.history) > self.history_keep:
            del stats.history[: len(stats.history) - self.history_keep]
        if len(stats.errors) > self.max_error_entries:
            self._fold_errors(stats.errors)

    def _fold_errors(self, errors: dict[str, Any]) -> None:
        """Keep the most frequent messages; fold the rest into one entry per endpoint."""
        folded_keys = {
            StatsError.create_key(e.method, e.name, FOLDED_ERROR)
            for e in errors.values()
            if e.error == FOLDED_ERROR
        }
        candidates = sorted(
            (key for key in errors if key not in folded_keys),
            key=lambda key: errors[key].occurrences,
            reverse=True,
        )
        keep = max(0, self.max_error_entries - len(folded_keys))
        for key in candidates[keep:]:
            entry = errors.pop(key)
            folded_key = StatsError.create_key(entry.method, entry.name, FOLDED_ERROR)
            target = errors.get(folded_key)
            if target is None:
                target = errors[folded_key] = StatsError(entry.method, entry.name, FOLDED_ERROR)
            target.occurrences += entry.occurrences
            first = [t for t in (target.first_seen, entry.first_seen) if t is not None]
            last = [t for t in (target.last_seen, entry.last_seen) if t is not None]
            target.first_seen = min(first, default=None)
            target.last_seen = max(last, default=None)


def _drop_before(per_second: dict[int, int], cutoff: int) -> None:
    if len(per_second) <= PER_SECOND_KEEP_S:
        return
    for second in [t for t in per_second if t < cutoff]:
        del per_second[second]
