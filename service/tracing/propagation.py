"""A W3C `traceparent` header on every request of HttpUser and FastHttpUser, in every runner
mode: FastHttpSession's `_send_request_safe_mode` and HttpSession's `prepare_request`, which
every request goes through, are replaced here (`session_sends`). A traceparent the scenario
set itself (on the request, or on an HttpUser's session) is kept.

The trace id of a sampled request waits on its greenlet until the request's event takes it
(`take_sampled_trace`, from the request tap): the event fires on the same greenlet, after the
response (or, with `catch_response`, when its block ends). `in_flight` counts them, so the
tap looks only when one may be there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import locust
import requests
from gevent import getcurrent
from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession

from service.open_model.gate import DELAY_ATTRIBUTE
from service.tracing import session_sends
from service.tracing.trace_ids import SAMPLED, TRACEPARENT, TraceIds, sampled_trace_id

TRACE_ATTRIBUTE = "loadgen_trace"
# Spellings looked up in a FastHttpUser request's headers (a dict: case-sensitive, unlike
# the wire).
_SPELLINGS = (TRACEPARENT, "Traceparent", "TraceParent", "TRACEPARENT")
# FastHttpSession's send (None: a Locust without it) and HttpSession's request builder.
_ORIGINAL_FAST_SEND = getattr(FastHttpSession, "_send_request_safe_mode", None)
_ORIGINAL_PREPARE = HttpSession.prepare_request


class _InFlight:
    count = 0


in_flight = _InFlight()


def _own_traceparent(headers: Any) -> str | None:
    for spelling in _SPELLINGS:
        if spelling in headers:
            return headers[spelling]
    return None


def _hold(trace: str) -> None:
    current: Any = getcurrent()
    if getattr(current, TRACE_ATTRIBUTE, None) is None:
        in_flight.count += 1
    setattr(current, TRACE_ATTRIBUTE, trace)


def _hold_if_sampled(traceparent: str) -> None:
    if traceparent[-1] == SAMPLED:
        _hold(traceparent[3:35])


def _hold_own(traceparent: str) -> None:
    trace = sampled_trace_id(traceparent)
    if trace is not None:
        _hold(trace)


def take_sampled_trace() -> str | None:
    """The trace id of the sampled request whose event is being handled, once."""
    current: Any = getcurrent()
    trace = getattr(current, TRACE_ATTRIBUTE, None)
    if trace is not None:
        setattr(current, TRACE_ATTRIBUTE, None)
        in_flight.count -= 1
    return trace


def exemplar_recorder(store: Any) -> Callable[[Any, Any], None]:
    """The request tap's exemplar hook: the sampled trace id waiting on this greenlet, if
    any, as the exemplar of the request's series (and of its corrected duration in open mode:
    the iteration's start delay waits on the greenlet too)."""

    def record_exemplar(series: Any, response_time: Any) -> None:
        trace_id = take_sampled_trace()
        if trace_id is not None:
            delay = getattr(getcurrent(), DELAY_ATTRIBUTE, None)
            store.record_exemplar(series, trace_id, response_time, delay)

    return record_exemplar


def _fast_own(headers: dict) -> None:
    _hold_own(_own_traceparent(headers) or "")


def install(ids: TraceIds) -> None:
    """From now on every request of both sessions carries a traceparent (a ValueError, for a
    start-up error, when this Locust or requests does not build requests where they are
    wrapped)."""
    if _ORIGINAL_FAST_SEND is None or not session_sends.prepares_case_insensitive_headers():
        raise ValueError(
            f"Locust {locust.__version__} and its requests do not build requests where trace "
            "context is added: use --no-trace-context or the versions this release pins "
            "(pyproject.toml)"
        )
    next_traceparent = ids.source()
    send_fast = _ORIGINAL_FAST_SEND

    # Locust's own send copied with the header added where it is the body copied
    # (`session_sends`); otherwise a wrapper around it.
    def fast_send_with_traceparent(
        session: Any, method: Any, url: Any, payload: Any = None, headers: Any = None, **kwargs: Any
    ) -> Any:
        # Locust builds this dict for the request: adding to it changes nothing of the caller's.
        if headers is None:
            headers = {}
        if TRACEPARENT not in headers and "Traceparent" not in headers:
            headers[TRACEPARENT] = header = next_traceparent()
            _hold_if_sampled(header)
        else:
            _fast_own(headers)
        return send_fast(session, method, url, payload=payload, headers=headers, **kwargs)

    if session_sends.copies_locusts(send_fast, session_sends.FAST_SEND_NAMES):
        fast_send_with_traceparent = session_sends.fast_send(next_traceparent, _hold, _fast_own)
    FastHttpSession._send_request_safe_mode = fast_send_with_traceparent  # type: ignore[method-assign]
    copied = session_sends.copies_locusts(_ORIGINAL_PREPARE, session_sends.PREPARE_NAMES)
    HttpSession.prepare_request = session_sends.requests_prepare(  # type: ignore[method-assign]
        requests.Session.prepare_request if copied else _ORIGINAL_PREPARE,
        copied, next_traceparent, _hold, _hold_own,
    )  # fmt: skip


def uninstall() -> None:
    FastHttpSession._send_request_safe_mode = _ORIGINAL_FAST_SEND  # type: ignore[method-assign]
    HttpSession.prepare_request = _ORIGINAL_PREPARE  # type: ignore[method-assign]
