"""`make bench ARGS=tracing`: what a traceparent on every request costs on Locust's hot path.

Each session's send (`_send_request_safe_mode`, which trace context replaces) is called a
million times with the network replaced by a function that returns at once: the traced send
less Locust's is the trace context's own cost per request (ids, header, sampling), and the
request tap's extra check (`in_flight`) is timed the same way. CPU time, not wall time:
figures hold on a busy machine. For scale: a FastHttpUser request costs ~70 µs of CPU here.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from typing import Any

import locust  # noqa: F401 (first: it patches ssl for gevent before requests loads it)
import requests
from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession
from locust.event import EventHook

from bench.markdown import print_table
from service.tracing import propagation, session_sends
from service.tracing.trace_ids import TraceIds


def _returns_at_once(*_args: Any, **_kwargs: Any) -> None:
    return None


class _Client:
    urlopen = staticmethod(_returns_at_once)  # FastHttpSession's client, answering at once


class _FastSession:
    client = _Client()


def _per_call_us(call: Callable[[], Any], calls: int) -> float:
    gc.disable()
    try:
        began = time.process_time()
        for _ in range(calls):
            call()
        return (time.process_time() - began) / calls * 1e6
    finally:
        gc.enable()


# A scenario's own headers, as the seed's users keep them (`headers=self.headers`).
SCENARIO_HEADERS = {"X-API-Key": "sandbox-key"}


def _fast_call(send: Callable, session: Any) -> Any:
    # FastHttpSession.request passes a dict of its own: the scenario's, copied, and its
    # Accept-Encoding added (the traceparent joins a dict that already has keys).
    headers = dict(SCENARIO_HEADERS)
    headers["Accept-Encoding"] = "gzip, deflate, br"
    return send(session, "GET", "/", payload=None, headers=headers)


def _requests_call(send: Callable, session: Any) -> Any:
    # HttpSession.request passes the scenario's own dict on as it is.
    return send(session, "GET", "/", data=None, json=None, headers=SCENARIO_HEADERS)


def _added_us(session: Any, bare: Callable, traced: Callable, calls: int) -> float:
    """The least of three rounds of (traced - bare) per call, each as Locust calls the send."""
    call = _fast_call if isinstance(session, _FastSession) else _requests_call
    costs = []
    for _round in range(3):
        times = [
            _per_call_us(lambda send=send: call(send, session), calls) for send in (bare, traced)
        ]
        costs.append(times[1] - times[0])
    return min(costs)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench tracing", description=__doc__)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--ratio", type=float, default=0.01, help="--trace-sample-ratio")
    args = parser.parse_args(argv)
    # The network replaced by a function that returns at once, for Locust's sends and these.
    session_request, requests.Session.request = requests.Session.request, _returns_at_once
    bare = {kind: propagation._ORIGINAL[kind] for kind in (FastHttpSession, HttpSession)}
    try:
        propagation.install(TraceIds(args.ratio))
        rows = [
            (f"{label} ({'the send re-implemented' if copied else 'a wrapper'})",
             _added_us(session, bare[kind], kind._send_request_safe_mode, args.calls))
            for label, kind, session, copied in (
                ("FastHttpUser", FastHttpSession, _FastSession(), session_sends.copies_locusts(
                    bare[FastHttpSession], session_sends.FAST_SEND_NAMES)),
                ("HttpUser", HttpSession, HttpSession("http://127.0.0.1", EventHook(), None),
                 session_sends.copies_locusts(
                     bare[HttpSession], session_sends.REQUESTS_SEND_NAMES)),
            )
        ]  # fmt: skip
        in_flight = propagation.in_flight

        def tap_check() -> None:
            if in_flight.count:
                propagation.take_sampled_trace()

        rows.append(("request tap's check", _per_call_us(tap_check, args.calls)))
    finally:
        propagation.uninstall()
        requests.Session.request = session_request
    print(f"trace context at --trace-sample-ratio {args.ratio:g}, CPU per request added:")
    print_table(("path", "µs per request"), [(kind, f"{cost:.3f}") for kind, cost in rows])


if __name__ == "__main__":
    main(sys.argv[1:])
