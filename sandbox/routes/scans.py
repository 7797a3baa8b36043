"""Scans: asynchronous start (202, rate limited per tenant), status polling, listing."""

from __future__ import annotations

import ipaddress
import time
from typing import Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from sandbox.routes.deps import Caller, Limit, Since, State, TenantId, Writer, resolve_tenant

router = APIRouter(tags=["scans"])

ScanType = Literal[
    "vulnerability", "deep_scan", "targeted_vulnerability", "compliance", "port_scan"
]


class ScanRequest(BaseModel):
    scan_type: ScanType
    target: str = Field(max_length=64, description="an IPv4 address or network; data only")
    tenant_id: str | None = Field(None, max_length=64)
    priority: Literal["low", "normal", "high"] = "normal"
    options: dict[str, bool] = Field(default_factory=dict, max_length=20)
    scan_options: dict[str, bool] = Field(default_factory=dict, max_length=20)

    @field_validator("target")
    @classmethod
    def _network(cls, target: str) -> str:
        # Parsed to validate it; the sandbox never connects to a scan target.
        return str(ipaddress.ip_network(target, strict=False))


@router.post("/api/scans", status_code=202)
async def start_scan(request: ScanRequest, state: State, caller: Writer) -> JSONResponse:
    tenant = resolve_tenant(state, caller, request.tenant_id)
    if not state.scan_limiter.admit(tenant, time.monotonic()):
        retry = state.scan_limiter.retry_after_s(tenant)
        return JSONResponse(
            {"detail": f"scan rate limit for {tenant} exceeded"},
            429,
            {"Retry-After": str(max(1, round(retry)))},
        )
    scan = state.scans.start(tenant, request.scan_type, request.target, request.priority)
    state.record_audit(tenant, caller.username, "scan.start")
    return JSONResponse(
        state.scans.render(scan, time.time()),
        202,
        {"Location": f"/api/scans/{scan.scan_id}/status"},
    )


@router.get("/api/scans")
async def list_scans(
    state: State,
    caller: Caller,
    since: Since,
    tenant_id: TenantId = None,
    status: Literal["queued", "running", "completed"] | None = None,
    limit: Limit = 50,
) -> dict:
    tenant = resolve_tenant(state, caller, tenant_id)
    now = time.time()
    scans = []
    for scan in state.scans.of_tenant(tenant):
        if scan.created < since:
            break
        rendered = state.scans.render(scan, now)
        if status is None or rendered["status"] == status:
            scans.append(rendered)
            if len(scans) == limit:
                break
    return {"tenant_id": tenant, "scans": scans, "count": len(scans)}


@router.get("/api/scans/{scan_id}/status")
async def scan_status(
    scan_id: str, state: State, caller: Caller, tenant_id: TenantId = None
) -> dict:
    tenant = resolve_tenant(state, caller, tenant_id)
    scan = state.scans.get(tenant, scan_id)
    if scan is None:
        raise HTTPException(404, f"unknown scan {scan_id!r}")
    return state.scans.render(scan, time.time())
