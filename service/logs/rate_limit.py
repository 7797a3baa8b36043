"""Rate limiting, a structlog processor: during a storm, a few lines per kind of event and
interval; the next line of that kind that passes carries how many were dropped."""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from typing import Any

from structlog import DropEvent

MAX_KINDS = 1000  # distinct kinds tracked per interval; beyond it the table starts over


class RateLimiter:
    def __init__(
        self,
        burst: int = 5,
        interval_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.interval_s = interval_s
        self.clock = clock
        self.window_started = clock()
        self.passed: dict[tuple, int] = {}
        self.dropped: dict[tuple, int] = {}

    def __call__(self, _logger: Any, _method: str, event_dict: MutableMapping) -> MutableMapping:
        if event_dict.pop("aggregated", False):
            return event_dict  # already one line per interval by construction
        now = self.clock()
        if now - self.window_started >= self.interval_s or len(self.passed) > MAX_KINDS:
            self.window_started = now
            self.passed.clear()
        kind = _kind(event_dict)
        count = self.passed.get(kind, 0)
        if count >= self.burst:
            if kind in self.dropped or len(self.dropped) < MAX_KINDS:
                self.dropped[kind] = self.dropped.get(kind, 0) + 1
            raise DropEvent
        self.passed[kind] = count + 1
        dropped = self.dropped.pop(kind, 0)
        if dropped:
            event_dict["suppressed"] = dropped
        return event_dict


def _kind(event_dict: MutableMapping) -> tuple:
    """Lines of one kind: same logger, level and message template (a stdlib record's format
    string, not its formatted text, which may hold ids; a structlog event's name)."""
    record = event_dict.get("_record")
    if record is not None:
        # structlog's own events arrive as a record whose msg is the event dict: its template
        # is the event name, not the dict (whose values differ from line to line).
        template = record.msg.get("event") if isinstance(record.msg, dict) else record.msg
        return (record.name, record.levelno, str(template)[:200])
    return (event_dict.get("logger"), event_dict.get("level"), str(event_dict.get("event"))[:200])
