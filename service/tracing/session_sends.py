"""The traceparent added where each session's request is built, at the cost of the header
alone.

FastHttpUser: a wrapper around Locust's `_send_request_safe_mode` costs a Python call and a
re-pack of the keyword arguments per request (0.3 µs here, more than the header itself). So,
as the request tap does with Locust's stats listener, `fast_send` re-implements the send's
body (call the client, turn a connection failure into an error response) with the header
added first, and is used only where Locust's body is the one it copies (the names it uses
are checked); any other Locust gets the plain wrapper (`propagation`), slower and as correct.

HttpUser: requests builds every request's headers afresh (the session's merged with the
request's, in a case-insensitive dict) in `Session.prepare_request`; `requests_prepare` adds
the header to that dict, so the scenario's own dict is never copied and a traceparent the
scenario set, on the request or the session and in any spelling, is one lookup. It stands in
for Locust's `prepare_request` (three lines) where that is the body it copies, as above.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from locust.contrib import fasthttp
from requests.structures import CaseInsensitiveDict

from service.tracing.trace_ids import SAMPLED, TRACEPARENT

# The names Locust 2.x's bodies use, in order (`co_names`): the bodies copied below.
PREPARE_NAMES = ("super", "prepare_request", "explicit_name", "_explicit_name")
FAST_SEND_NAMES = (
    "client", "urlopen", "FAILURE_EXCEPTIONS", "hasattr", "response", "error", "_make_request",
    "get", "ErrorResponse",
)  # fmt: skip

Send = Callable[..., Any]


def copies_locusts(send: Any, names: tuple[str, ...]) -> bool:
    return getattr(getattr(send, "__code__", None), "co_names", None) == names


def prepares_case_insensitive_headers() -> bool:
    """Whether requests keeps a request's headers where `requests_prepare` looks for them."""
    return hasattr(CaseInsensitiveDict(), "_store")


def fast_send(
    next_traceparent: Callable[[], str],
    hold: Callable[[str], None],
    own: Callable[[dict], None],
) -> Send:
    """FastHttpSession's send; a sampled request's trace id goes to `hold`, and `own(headers)`
    handles a traceparent the scenario set."""
    failures = fasthttp.FAILURE_EXCEPTIONS
    error_response = fasthttp.ErrorResponse

    # `headers` by name: cheaper than taking it out of **kwargs (0.08 µs here).
    def send(session: Any, method: str, url: str, headers: Any = None, **kwargs: Any) -> Any:
        # Locust builds this dict for the request: adding to it changes nothing of the caller's.
        if headers is None:  # Locust always passes them; a direct call may not
            headers = {}
        if TRACEPARENT not in headers and "Traceparent" not in headers:
            headers[TRACEPARENT] = header = next_traceparent()
            if header[-1] == SAMPLED:
                hold(header[3:35])
        else:
            own(headers)
        try:
            return session.client.urlopen(url, method=method, headers=headers, **kwargs)
        except failures as e:
            if hasattr(e, "response"):
                response = e.response
                response.error = e
            else:
                request = session.client._make_request(
                    url, method=method, headers=headers,
                    payload=kwargs.get("payload"), params=kwargs.get("params"),
                )  # fmt: skip
                response = error_response(request, e)
            return response

    return send


def requests_prepare(
    prepare: Callable[[Any, Any], Any],
    names_request: bool,
    next_traceparent: Callable[[], str],
    hold: Callable[[str], None],
    own: Callable[[str], None],
) -> Callable[[Any, Any], Any]:
    """HttpSession's `prepare_request`: `prepare`'s, with the header added to the prepared
    request's own headers unless the scenario set one (then `own(value)`). Where `prepare` is
    requests' and `names_request`, the rest of Locust's body is here (its request name),
    saving a call; otherwise `prepare` is Locust's, wrapped."""

    def prepare_request(session: Any, request: Any) -> Any:
        prepared = prepare(session, request)
        if names_request and session.explicit_name:
            prepared._explicit_name = session.explicit_name
        # requests' CaseInsensitiveDict keeps (name, value) by lower-cased name: one lookup,
        # where its own `in` raises and catches a KeyError for every request without one.
        store = prepared.headers._store
        if TRACEPARENT not in store:
            store[TRACEPARENT] = (TRACEPARENT, header := next_traceparent())
            if header[-1] == SAMPLED:
                hold(header[3:35])
        else:
            own(store[TRACEPARENT][1])
        return prepared

    return prepare_request
