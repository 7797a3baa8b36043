"""The sandbox's record of traced requests: each request that carries a W3C `traceparent`
is kept (the latest 10,000) with what the server saw of it, so a trace id from the load
generator's exemplars leads to the request behind it (`GET /_sandbox/requests/{trace_id}`).

The recorder is the outermost middleware: its time includes the capacity queue, as a
client's does."""

from __future__ import annotations

import re
from collections import OrderedDict

from sandbox.middleware import AnsweredRequests

KEPT = 10_000
_TRACEPARENT = re.compile(rb"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


class TracedRequests:
    """The latest traced requests, by trace id (bounded: the oldest are forgotten)."""

    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self.by_trace: OrderedDict[str, dict] = OrderedDict()
        self.seen = 0

    def add(self, trace_id: str, record: dict) -> None:
        self.seen += 1
        self.by_trace[trace_id] = record
        self.by_trace.move_to_end(trace_id)
        while len(self.by_trace) > self.kept:
            self.by_trace.popitem(last=False)

    def get(self, trace_id: str) -> dict | None:
        return self.by_trace.get(trace_id.lower())

    def latest(self, limit: int) -> list[dict]:
        records = list(self.by_trace.values())
        return records[-limit:][::-1] if limit else []


class TraceRecorder(AnsweredRequests):
    """ASGI middleware: records every request with a valid traceparent into `traced`."""

    def __init__(self, app, traced: TracedRequests) -> None:
        super().__init__(app)
        self.traced = traced

    def answered(self, scope, status: int, seconds: float, received_at: float) -> None:
        context = trace_context(scope)
        if context is None:
            return
        trace_id, span_id, sampled = context
        self.traced.add(
            trace_id,
            {
                "trace_id": trace_id,
                "span_id": span_id,
                "sampled": sampled,
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_seconds": round(seconds, 6),
                "received_at": round(received_at, 6),
            },
        )


def trace_context(scope) -> tuple[str, str, bool] | None:
    """A request's valid `traceparent` as (trace id, span id, sampled), else None."""
    for name, value in scope["headers"]:
        if name == b"traceparent":
            match = _TRACEPARENT.match(value.strip().lower())
            if match is None or match[2] == b"0" * 32 or match[1] == b"ff":
                return None
            return match[2].decode(), match[3].decode(), bool(int(match[4], 16) & 1)
    return None
