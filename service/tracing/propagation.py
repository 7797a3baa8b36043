"""A W3C `traceparent` header on every request of HttpUser and FastHttpUser, in every runner
mode: both sessions send through `_send_request_safe_mode`, which is wrapped here. A
traceparent the scenario set itself (on the request, or on an HttpUser's session) is kept.

The trace id of a sampled request waits on its greenlet until the request's event takes it
(`take_sampled_trace`, from the request tap): the event fires on the same greenlet, after the
response (or, with `catch_response`, when its block ends). `in_flight` counts them, so the
tap looks only when one may be there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import locust
from gevent import getcurrent
from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession

from service.open_model.gate import DELAY_ATTRIBUTE
from service.tracing import session_sends
from service.tracing.trace_ids import TRACEPARENT, TraceIds, sampled_trace_id

TRACE_ATTRIBUTE = "loadgen_trace"
# Spellings looked up in a request's own headers (a dict: case-sensitive, unlike the wire).
_SPELLINGS = (TRACEPARENT, "Traceparent", "TraceParent", "TRACEPARENT")
# Both sessions' send, which every request goes through (None: a Locust without it).
_ORIGINAL = {
    HttpSession: getattr(HttpSession, "_send_request_safe_mode", None),
    FastHttpSession: getattr(FastHttpSession, "_send_request_safe_mode", None),
}


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


def _own_in(headers: Any) -> bool:
    """Whether a request's `headers` (the scenario's) hold a traceparent it set; its trace id
    is held when sampled."""
    if headers is None:
        return False
    if isinstance(headers, dict):
        # Four lookups in one expression: a loop over the spellings costs twice as much.
        if not (TRACEPARENT in headers or "Traceparent" in headers
                or "TraceParent" in headers or "TRACEPARENT" in headers):  # fmt: skip
            return False
        own = _own_traceparent(headers)
    else:
        own = _own_in_session(headers)
    if own is None:
        return False
    _hold_own(own)
    return True


def _own_in_session(headers: Any) -> str | None:
    """The traceparent in case-insensitive headers (an HttpUser session's), if any."""
    # requests' CaseInsensitiveDict keeps (key, value) by lower-cased key: one lookup, where
    # its `in` raises and catches a KeyError for every request without one.
    store = getattr(headers, "_store", None)
    if store is not None:
        return store.get(TRACEPARENT, (None, None))[1]
    return headers.get(TRACEPARENT) if headers else None


def _own_in_session_headers(headers: Any) -> bool:
    """Whether an HttpUser session's headers hold a traceparent the scenario set (held when
    sampled)."""
    own = _own_in_session(headers)
    if own is None:
        return False
    _hold_own(own)
    return True


def _fast_own(headers: dict) -> None:
    _hold_own(_own_traceparent(headers) or "")


def install(ids: TraceIds) -> None:
    """From now on every request of both sessions carries a traceparent (a ValueError, for a
    start-up error, when this Locust's sessions do not send where they are wrapped)."""
    if None in _ORIGINAL.values():
        raise ValueError(
            f"Locust {locust.__version__} has no _send_request_safe_mode on its sessions: "
            "trace context cannot be added to its requests; use --trace-context off or a "
            "Locust version this release supports (pyproject.toml)"
        )
    next_traceparent = ids.source(_hold)
    send_requests = _ORIGINAL[HttpSession]
    send_fast = _ORIGINAL[FastHttpSession]

    # Locust's own sends copied with the header added where they are the bodies copied
    # (`session_sends`); otherwise a wrapper around them.
    def send_with_traceparent(session: Any, method: Any, url: Any, **kwargs: Any) -> Any:
        headers = kwargs.get("headers")
        if not _own_in(headers) and not _own_in_session_headers(session.headers):
            # A copy: the scenario's own dict may be reused for other requests.
            kwargs["headers"] = dict(headers or (), traceparent=next_traceparent())
        return send_requests(session, method, url, **kwargs)

    def fast_send_with_traceparent(
        session: Any, method: Any, url: Any, payload: Any = None, headers: Any = None, **kwargs: Any
    ) -> Any:
        # Locust builds this dict for the request: adding to it changes nothing of the caller's.
        if headers is None:
            headers = {}
        if TRACEPARENT not in headers and "Traceparent" not in headers:
            headers[TRACEPARENT] = next_traceparent()
        else:
            _fast_own(headers)
        return send_fast(session, method, url, payload=payload, headers=headers, **kwargs)

    if session_sends.copies_locusts(send_requests, session_sends.REQUESTS_SEND_NAMES):
        send_with_traceparent = session_sends.requests_send(
            next_traceparent, _own_in, _own_in_session_headers
        )
    if session_sends.copies_locusts(send_fast, session_sends.FAST_SEND_NAMES):
        fast_send_with_traceparent = session_sends.fast_send(next_traceparent, _fast_own)
    HttpSession._send_request_safe_mode = send_with_traceparent  # type: ignore[method-assign]
    FastHttpSession._send_request_safe_mode = fast_send_with_traceparent  # type: ignore[method-assign]


def uninstall() -> None:
    for session, send in _ORIGINAL.items():
        session._send_request_safe_mode = send  # type: ignore[method-assign]
