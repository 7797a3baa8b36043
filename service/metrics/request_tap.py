"""How the exporter hears every request: in place of Locust's own stats listener, not beside it.

Locust's runner feeds its stats from one `request` listener. Every further listener costs a
keyword dispatch per request (~0.5 % of a FastHttpUser request's CPU here). So the tap takes that
listener's place, at the same position, with one that records into the store and then feeds
Locust's stats as it did, under the store's labels (names past the budget folded, names that
cannot be encoded escaped). That re-implements the listener's body, so the tap checks it is the
body it knows (the names it uses); a Locust whose listener is missing or changed stops the start
with one line naming its version, instead of exporting figures that may differ from Locust's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import locust
from locust.event import EventHook

from service.logs.pipeline import scrub
from service.tracing.propagation import in_flight

# The listener Locust's Runner.__init__ registers to feed `runner.stats`, and the names its body
# uses: `self.stats.log_request(...)`, then `self.stats.log_error(...)` on an exception.
LOCUST_STATS_LISTENER = "Runner.__init__.<locals>.on_request"
LOCUST_STATS_LISTENER_NAMES = ("stats", "log_request", "log_error")

# Returns the series the request was counted in (its labels are the ones Locust's stats get).
Record = Callable[[str, str, Any, Any, Any, Any], Any]
# Takes a sampled request's trace id as its series' exemplar (series, response time).
Exemplar = Callable[[Any, Any], None]


def _is_locust_stats_listener(handler: Any, runner: Any) -> bool:
    if getattr(handler, "__qualname__", None) != LOCUST_STATS_LISTENER:
        return False
    return any(cell.cell_contents is runner for cell in handler.__closure__ or ())


class UnsupportedLocust(ValueError):
    """Locust's stats listener is not the one the tap replaces: a start-up error."""


class RequestTap:
    """Attach/detach the store's `record` to the request event of one runner."""

    def __init__(
        self, hook: EventHook, runner: Any, record: Record, exemplar: Exemplar | None = None
    ) -> None:
        self.hook = hook
        self.runner = runner
        self.record = record
        self.exemplar = exemplar or (lambda _series, _response_time: None)
        self.replaced: Callable[..., None] | None = None
        self.listener: Callable[..., None] | None = None

    @property
    def attached(self) -> bool:
        return self.listener is not None

    def attach(self) -> None:
        if self.attached:
            return
        handlers = self.hook._handlers
        for index, handler in enumerate(handlers):
            if _is_locust_stats_listener(handler, self.runner):
                names = getattr(getattr(handler, "__code__", None), "co_names", ())
                if names != LOCUST_STATS_LISTENER_NAMES:
                    raise UnsupportedLocust(
                        f"Locust {locust.__version__} changed its stats listener (it uses "
                        f"{', '.join(names)}): the exporter would no longer count what Locust "
                        "counts; use a Locust version this release supports (pyproject.toml)"
                    )
                self.replaced = handler
                self.listener = handlers[index] = self._with_locust_stats()
                return
        raise UnsupportedLocust(
            f"Locust {locust.__version__} has no stats listener {LOCUST_STATS_LISTENER} on its "
            "request event: use a Locust version this release supports (pyproject.toml)"
        )

    def detach(self) -> None:
        if not self.attached:
            return
        handlers = self.hook._handlers
        index = handlers.index(self.listener)
        if self.replaced is not None:
            handlers[index] = self.replaced
        else:
            del handlers[index]
        self.listener = self.replaced = None

    def _with_locust_stats(self) -> Callable[..., None]:
        runner, record, exemplar = self.runner, self.record, self.exemplar

        # Naming every argument Locust passes keeps `_kwargs` empty (it only catches extra
        # keys a locustfile may fire): no dict holding `context` is built per request.
        def on_request(
            request_type: str,
            name: str,
            response_time: Any,
            response_length: Any,
            exception: Any = None,
            response: Any = None,
            context: Any = None,
            url: Any = None,
            start_time: Any = None,
            **_kwargs: Any,
        ) -> None:
            # The exporter's recording first (it never raises): a name past the series budget
            # is folded into __other__ for Locust's stats too, so Locust's tables and memory
            # stay as bounded as the exporter's, and the two report the same names...
            series = record(request_type, name, response_time, response_length, exception, response)
            if series is not None:
                request_type = series.method
                name = series.name
                if in_flight.count:  # a sampled request's trace id may wait on this greenlet
                    exemplar(series, response_time)
            # ...then exactly what Locust's own listener does.
            stats = runner.stats
            stats.log_request(request_type, name, response_time, response_length)
            if exception:
                stats.log_error(request_type, name, redacted(exception))

        return on_request


class RedactedFailure(Exception):
    """A failure whose text held a secret, as Locust's failure table shows it: redacted."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __repr__(self) -> str:
        return self.text


def redacted(exception: Any) -> Any:
    """The exception, or its text redacted where it held a secret (a key in a URL)."""
    text = repr(exception)
    clean = scrub(text)
    return exception if clean == text else RedactedFailure(clean)
