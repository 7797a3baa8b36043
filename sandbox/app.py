"""Assemble the sandbox ASGI application from its state, middleware and routes."""

from __future__ import annotations

from fastapi import FastAPI

from sandbox.access_log import AccessLog
from sandbox.capacity import CapacityLimit, ServiceTime
from sandbox.config import SandboxConfig
from sandbox.middleware import BodyLimit, BuildVersion, FaultInjection
from sandbox.routes import admin, auth, automation, control, scans, threats, workspace
from sandbox.server_metrics import METRICS_PATH, ServerMetrics
from sandbox.state import SandboxState
from sandbox.traces import TraceRecorder


def create_app(config: SandboxConfig | None = None, access_log: bool = False) -> FastAPI:
    state = SandboxState(config or SandboxConfig())
    app = FastAPI(
        title="SecureNet sandbox API",
        version="1.0",
        description="A deterministic stand-in for the SecureNet API, for load tests.",
    )
    app.state.sandbox = state
    # automation first: /api/threats/stream must win over /api/threats/{threat_id}.
    for module in (control, auth, automation, threats, scans, workspace, admin):
        app.include_router(module.router)
    app.include_router(control.guarded)
    app.add_middleware(FaultInjection, board=state.faults, exempt_prefix=control.CONTROL_PREFIX)
    app.add_middleware(BodyLimit, max_bytes=state.config.max_body_bytes)
    app.add_middleware(ServiceTime)  # inside the server's timing ...
    app.add_middleware(ServerMetrics, board=state.faults)
    app.add_middleware(BuildVersion, state=state)
    # ... the capacity queue outside it, outermost: (last added is outermost)
    exempt = (control.CONTROL_PREFIX, METRICS_PATH)
    app.add_middleware(CapacityLimit, board=state.capacity, exempt=exempt)
    app.add_middleware(TraceRecorder, traced=state.traced)  # outermost: the queue counts
    if access_log:
        app.add_middleware(AccessLog)
    return app
