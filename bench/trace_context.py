"""`make bench ARGS=tracing`: what a traceparent on every request costs on Locust's hot path.

Where trace context adds the header is called two million times, as Locust calls it, with
the work around it replaced by functions that return at once: FastHttpSession's send with
its client answering at once, and HttpSession's `prepare_request` with requests' (120 µs
here, too noisy to see 0.1 µs in) replaced by one that returns a fresh prepared request.
With trace context less without is its own cost per request (ids, header, sampling); the
request tap's extra check (`in_flight`) is timed the same way. CPU time, not wall time:
figures hold on a busy machine. For scale: a FastHttpUser request costs ~70 µs of CPU here.
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import time
from collections.abc import Callable
from typing import Any

import locust  # noqa: F401 (first: it patches ssl for gevent before requests loads it)
import requests
from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession
from locust.event import EventHook
from requests.structures import CaseInsensitiveDict

from bench.markdown import print_table
from service.tracing import propagation, session_sends
from service.tracing.trace_ids import TraceIds


def _returns_at_once(*_args: Any, **_kwargs: Any) -> None:
    return None


class _Client:
    urlopen = staticmethod(_returns_at_once)  # FastHttpSession's client, answering at once


class _FastSession:
    client = _Client()


ROUNDS = 20


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


def _fast_call(session: Any) -> Any:
    # FastHttpSession.request passes a dict of its own: the scenario's, copied, and its
    # Accept-Encoding added (the traceparent joins a dict that already has keys).
    headers = dict(SCENARIO_HEADERS)
    headers["Accept-Encoding"] = "gzip, deflate, br"
    return FastHttpSession._send_request_safe_mode(
        session, "GET", "/", payload=None, headers=headers
    )


class _Prepared:
    def __init__(self, headers: CaseInsensitiveDict) -> None:
        self.headers = headers


def _prepared_at_once(session: Any, request: Any) -> _Prepared:
    """requests' `prepare_request` in short: a fresh prepared request whose headers are the
    scenario's, in its case-insensitive dict."""
    return _Prepared(CaseInsensitiveDict(SCENARIO_HEADERS))


def _requests_call(session: Any) -> Any:
    return HttpSession.prepare_request(session, None)


def _added_us(call: Callable[[], Any], ids: TraceIds, calls: int) -> float:
    """(with - without trace context) per call: the least time of each over rounds that
    alternate (the least is the run the machine disturbed least, and alternating gives both
    the same machine; a difference of single runs swung by 0.07 µs here)."""
    least = {False: math.inf, True: math.inf}
    for _round in range(ROUNDS):
        for traced in least:
            if traced:
                propagation.install(ids)
            try:
                least[traced] = min(least[traced], _per_call_us(call, calls // ROUNDS))
            finally:
                propagation.uninstall()
    return least[True] - least[False]


def _tap_check_us(calls: int) -> float:
    """The request tap's `if in_flight.count:`, inline as it is there: a loop with it less an
    empty loop, the least of each over rounds."""
    in_flight = propagation.in_flight
    least = [math.inf, math.inf]
    gc.disable()
    try:
        for _round in range(ROUNDS):
            began = time.process_time()
            for _ in range(calls // ROUNDS):
                if in_flight.count:
                    propagation.take_sampled_trace()
            least[0] = min(least[0], time.process_time() - began)
            began = time.process_time()
            for _ in range(calls // ROUNDS):
                pass
            least[1] = min(least[1], time.process_time() - began)
    finally:
        gc.enable()
    return (least[0] - least[1]) / (calls // ROUNDS) * 1e6


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench tracing", description=__doc__)
    parser.add_argument("--calls", type=int, default=2_000_000)
    parser.add_argument("--ratio", type=float, default=0.01, help="--trace-sample-ratio")
    args = parser.parse_args(argv)
    requests_prepare = requests.Session.prepare_request
    requests.Session.prepare_request = _prepared_at_once  # type: ignore[method-assign]
    ids = TraceIds(args.ratio)
    fast_session = _FastSession()
    requests_session = HttpSession("http://127.0.0.1", EventHook(), None)
    requests_session.explicit_name = None  # as HttpSession.request sets it
    fast_copied = session_sends.copies_locusts(
        propagation._ORIGINAL_FAST_SEND, session_sends.FAST_SEND_NAMES
    )
    prepare_copied = session_sends.copies_locusts(
        propagation._ORIGINAL_PREPARE, session_sends.PREPARE_NAMES
    )
    try:
        rows = [
            (f"FastHttpUser ({'the send re-implemented' if fast_copied else 'a wrapper'})",
             _added_us(lambda: _fast_call(fast_session), ids, args.calls)),
            (f"HttpUser ({'prepare_request re-implemented' if prepare_copied else 'a wrapper'})",
             _added_us(lambda: _requests_call(requests_session), ids, args.calls)),
        ]  # fmt: skip
        rows.append(("request tap's check", _tap_check_us(args.calls)))
    finally:
        requests.Session.prepare_request = requests_prepare  # type: ignore[method-assign]
        propagation.uninstall()
    print(f"trace context at --trace-sample-ratio {args.ratio:g}, CPU per request added:")
    print_table(("path", "µs per request"), [(kind, f"{cost:.3f}") for kind, cost in rows])


if __name__ == "__main__":
    main(sys.argv[1:])
