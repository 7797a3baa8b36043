"""Cardinality budgets: a bounded number of label values; the rest fold into one overflow value."""

from __future__ import annotations

import structlog

OVERFLOW = "__other__"

logger = structlog.get_logger(__name__)


class Budget:
    """Admits at most `limit` distinct label values of one kind.

    Past the limit, callers record into the OVERFLOW value and call `fold()`: the count of
    folded observations is exported, and one warning is logged per budget, never one per request.
    """

    def __init__(self, kind: str, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"the {kind} budget must be at least 1, got {limit}")
        self.kind = kind
        self.limit = limit
        self.used = 0
        self.folded = 0
        self._warned = False

    def admit(self) -> bool:
        if self.used < self.limit:
            self.used += 1
            return True
        return False

    def fold(self, count: int = 1) -> None:
        self.folded += count
        if not self._warned:
            self._warned = True
            logger.warning(
                "cardinality_budget_exhausted",
                kind=self.kind,
                limit=self.limit,
                overflow_value=OVERFLOW,
            )
