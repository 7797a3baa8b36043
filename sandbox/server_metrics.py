"""The sandbox's own view for Prometheus (/metrics): requests and server-side latency per
route, so a slow target can be told from a slow network or a saturated load generator."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from sandbox.faults import FaultBoard
from sandbox.middleware import AnsweredRequests

METRICS_PATH = "/metrics"
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class ServerMetrics(AnsweredRequests):
    """Outermost ASGI middleware: sees injected faults as a client would, and serves /metrics."""

    def __init__(self, app, board: FaultBoard) -> None:
        super().__init__(app)
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "sandbox_requests",
            "Requests answered, by route template and status.",
            ["method", "route", "code"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "sandbox_request_duration_seconds",
            "Server-side time to answer, injected latency included.",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        rules = Gauge(
            "sandbox_fault_rules", "Active fault-injection rules.", registry=self.registry
        )
        rules.set_function(lambda: len(board.rules))

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == METRICS_PATH:
            body = generate_latest(self.registry)
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", CONTENT_TYPE_LATEST.encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await super().__call__(scope, receive, send)

    def answered(self, scope, status: int, seconds: float, received_at: float) -> None:
        # The router leaves the matched route in the scope; answers given before routing
        # (injected errors, outages, 413s) have none.
        route = getattr(scope.get("route"), "path", "unrouted")
        method = scope["method"]
        self.duration.labels(method, route).observe(seconds)
        self.requests.labels(method, route, str(status)).inc()
