"""The sandbox's access log (`--access-log`): one JSON object per line on stdout for every
request, with the trace id of its `traceparent`, so a trace id from the load generator's
exemplars can be found the way a real API's log pipeline finds it.

A line holds the method, the path (never the query string, headers or body: tokens and
keys travel there), the status and the server's time."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TextIO

from sandbox.middleware import AnsweredRequests
from sandbox.traces import trace_context


class AccessLog(AnsweredRequests):
    """ASGI middleware: log every HTTP request as one JSON line once it is answered."""

    def __init__(self, app, stream: TextIO | None = None) -> None:
        super().__init__(app)
        self.stream = stream or sys.stdout

    def answered(self, scope, status: int, seconds: float, received_at: float) -> None:
        trace_id, span_id, sampled = trace_context(scope) or (None, None, False)
        line = {
            "ts": datetime.fromtimestamp(received_at, UTC).isoformat(timespec="microseconds"),
            "event": "request",
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "duration_seconds": round(seconds, 6),
            "trace_id": trace_id,
            "span_id": span_id,
            "sampled": sampled,
        }
        self.stream.write(json.dumps(line) + "\n")
        self.stream.flush()
