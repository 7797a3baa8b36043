"""Each session's send with the traceparent added, in place of Locust's, at the cost of the
header alone.

A wrapper around Locust's `_send_request_safe_mode` costs a Python call and a re-pack of the
keyword arguments per request (0.3 µs here, more than the header itself). So, as the request
tap does with Locust's stats listener, these re-implement the send's body (a few lines: call
the client, turn a connection failure into an error response) with the header added first,
and are used only where Locust's body is the one they copy (the names it uses are checked);
any other Locust gets the plain wrapper (`propagation`), slower and as correct.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from locust.clients import ResponseContextManager
from locust.contrib import fasthttp
from requests.exceptions import InvalidSchema, InvalidURL, MissingSchema, RequestException

from service.tracing.trace_ids import TRACEPARENT

# The names Locust 2.x's bodies use, in order (`co_names`): the bodies copied below.
FAST_SEND_NAMES = (
    "client", "urlopen", "FAILURE_EXCEPTIONS", "hasattr", "response", "error", "_make_request",
    "get", "ErrorResponse",
)  # fmt: skip
REQUESTS_SEND_NAMES = (
    "super", "request", "MissingSchema", "InvalidSchema", "InvalidURL", "RequestException",
    "ResponseContextManager",
)  # fmt: skip

Send = Callable[..., Any]


def copies_locusts(send: Any, names: tuple[str, ...]) -> bool:
    return getattr(getattr(send, "__code__", None), "co_names", None) == names


def fast_send(next_traceparent: Callable[[], str], own: Callable[[dict], None]) -> Send:
    """FastHttpSession's send; `own(headers)` handles a traceparent the scenario set."""
    failures = fasthttp.FAILURE_EXCEPTIONS
    error_response = fasthttp.ErrorResponse

    def send(session: Any, method: str, url: str, **kwargs: Any) -> Any:
        # Locust builds this dict for the request: adding to it changes nothing of the caller's.
        headers = kwargs.get("headers")
        if headers is None:  # Locust always passes them; a direct call may not
            headers = kwargs["headers"] = {}
        if TRACEPARENT not in headers and "Traceparent" not in headers:
            headers[TRACEPARENT] = next_traceparent()
        else:
            own(headers)
        try:
            return session.client.urlopen(url, method=method, **kwargs)
        except failures as e:
            if hasattr(e, "response"):
                response = e.response
                response.error = e
            else:
                request = session.client._make_request(
                    url, method=method, headers=kwargs.get("headers"),
                    payload=kwargs.get("payload"), params=kwargs.get("params"),
                )  # fmt: skip
                response = error_response(request, e)
            return response

    return send


def requests_send(
    next_traceparent: Callable[[], str],
    own: Callable[[Any], bool],
    own_in_session: Callable[[Any], bool],
) -> Send:
    """HttpSession's send; `own(headers)` and `own_in_session(session.headers)` say whether
    the scenario set a traceparent (on the request or the session) and handle it."""
    session_request = requests.Session.request

    def send(session: Any, method: str, url: str, **kwargs: Any) -> Any:
        headers = kwargs.get("headers")
        if not own(headers) and not own_in_session(session.headers):
            # A copy: the scenario's own dict may be reused for other requests. (`copy` and
            # one item cost a third of `dict(headers, traceparent=…)`.)
            headers = headers.copy() if type(headers) is dict else dict(headers or ())
            headers[TRACEPARENT] = next_traceparent()
            kwargs["headers"] = headers
        try:
            return session_request(session, method, url, **kwargs)
        except (MissingSchema, InvalidSchema, InvalidURL):
            raise
        except RequestException as e:
            return ResponseContextManager(e)

    return send
