"""The sandbox's access log (`--access-log`): one JSON object per line on stdout for every
request, with the trace id of its `traceparent`, so a trace id from the load generator's
exemplars can be found the way a real API's log pipeline finds it.

A line holds the method, the path (never the query string, headers or body: tokens and
keys travel there), the status and the server's time."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from typing import TextIO

from sandbox.middleware import StatusSeen
from sandbox.traces import trace_context


class AccessLog:
    """ASGI middleware: log every HTTP request as one JSON line once it is answered."""

    def __init__(self, app, stream: TextIO | None = None) -> None:
        self.app = app
        self.stream = stream or sys.stdout

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen = StatusSeen(send)
        started, at = time.perf_counter(), time.time()
        try:
            await self.app(scope, receive, seen)
        finally:
            trace_id, span_id, sampled = trace_context(scope) or (None, None, False)
            line = {
                "ts": datetime.fromtimestamp(at, UTC).isoformat(timespec="microseconds"),
                "event": "request",
                "method": scope["method"],
                "path": scope["path"],
                "status": seen.status,
                "duration_seconds": round(seen.seconds_since(started), 6),
                "trace_id": trace_id,
                "span_id": span_id,
                "sampled": sampled,
            }
            self.stream.write(json.dumps(line) + "\n")
            self.stream.flush()
