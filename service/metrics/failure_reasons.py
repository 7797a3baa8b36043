"""Failures reduced to a bounded reason: HTTP status, exception class, or a message class."""

from __future__ import annotations

import re
from typing import Any

from locust.exception import CatchResponseError

from service.logs.pipeline import scrub
from service.metrics.cardinality import OVERFLOW, Budget

# Free text is reduced before it can become a label value: ids, numbers, addresses and
# quoted parts vary per request and would make every failure a new series.
_URL = re.compile(r"\w+://\S+|/\S*")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_HEXISH = re.compile(r"\b[0-9a-f]{8,}\b|\b\w*\d\w*\b", re.IGNORECASE)
_SPACES = re.compile(r"[^a-z_]+")
MESSAGE_CHARS = 60
# Distinct raw messages remembered with their reason; cleared when full, so it stays bounded.
MESSAGE_CACHE = 1024


def message_class(message: str) -> str:
    """'Dashboard failed for user_42 at /api/x?id=7' -> 'dashboard_failed_for_at'."""
    text = _HEXISH.sub(" ", _QUOTED.sub(" ", _URL.sub(" ", message)))
    text = _SPACES.sub("_", text.lower()).strip("_")
    return text[:MESSAGE_CHARS].rstrip("_") or "unspecified"


class FailureReasons:
    """Classifies failures; the set of reasons is held within a cardinality budget."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self._known: set[str] = set()
        self._by_status: dict[int, str] = {}
        self._by_message: dict[str, str] = {}

    def admit(self, reason: str) -> str:
        if reason in self._known:
            return reason
        if self.budget.admit():
            self._known.add(reason)
            return reason
        self.budget.fold()
        return OVERFLOW

    def classify(self, exception: BaseException, status: int, response: Any = None) -> str:
        if status >= 400:
            reason = self._by_status.get(status)
            if reason is None:
                reason = self._by_status[status] = self.admit(f"http_{status}")
            return reason
        if status == 0:
            # No response at all: the transport's cause (refused, reset, timeout, a host the
            # rails refused) names the failure, whatever message a catch_response check gave,
            # so a target outage is one reason on one panel.
            cause = getattr(response, "error", None)
            if isinstance(cause, BaseException):
                exception = cause
        if not isinstance(exception, CatchResponseError):
            return self.admit(type(exception).__name__)
        message = str(exception)
        reason = self._by_message.get(message)
        if reason is None:
            if len(self._by_message) >= MESSAGE_CACHE:
                self._by_message.clear()
            reason = self._by_message[message] = self.admit(message_class(scrub(message)))
        return reason
