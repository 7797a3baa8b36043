"""A tenant's workspace: dashboards, devices, settings, reports, search and data upload."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictBool, model_validator

from sandbox.dataset import DASHBOARD_VIEWS
from sandbox.routes.deps import Caller, Limit, State, TenantId, Writer, resolve_tenant
from sandbox.state import SandboxState

router = APIRouter(tags=["workspace"])

Section = Literal["threats", "vulnerabilities", "compliance", "network", "devices"]


class NotificationPreferences(BaseModel):
    email: StrictBool
    slack: StrictBool


class SettingsUpdate(BaseModel):
    notification_preferences: NotificationPreferences
    scan_frequency: Literal["hourly", "daily", "weekly"]


class DateRange(BaseModel):
    start: float
    end: float

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.start > self.end:
            raise ValueError("date_range.start must not be after date_range.end")
        return self


class ReportRequest(BaseModel):
    report_type: Literal["weekly_summary", "monthly_summary", "compliance", "incident"]
    date_range: DateRange
    include_sections: list[Section] = Field(min_length=1, max_length=5)


class LogEntry(BaseModel):
    timestamp: float
    source: str = Field(max_length=64)
    destination: str = Field(max_length=64)
    data: str = Field(max_length=10_000)


class Upload(BaseModel):
    network_logs: list[LogEntry] = Field(max_length=1000)


def _summary(state: SandboxState, tenant: str) -> dict:
    data = state.data(tenant)
    return {
        "tenant_id": tenant,
        "open_threats": data.open_threats,
        "devices": data.device_counts,
        "recent_alerts": sum(a["timestamp"] >= time.time() - 86400 for a in data.alerts),
        "scans": len(state.scans.of_tenant(tenant)),
    }


@router.get("/api/version")
async def version(state: State) -> dict:
    """The build identity of the API, as a deploy pipeline and the load generator read it."""
    return {"version": state.version}


@router.get("/api/dashboard")
async def dashboard(state: State, caller: Caller, tenant_id: TenantId = None) -> dict:
    return _summary(state, resolve_tenant(state, caller, tenant_id))


@router.get("/api/dashboard/{view}")
async def dashboard_view(
    view: str, state: State, caller: Caller, tenant_id: TenantId = None
) -> dict:
    if view not in DASHBOARD_VIEWS:
        raise HTTPException(404, f"unknown dashboard {view!r}; known: {', '.join(DASHBOARD_VIEWS)}")
    return {"view": view, **_summary(state, resolve_tenant(state, caller, tenant_id))}


@router.get("/api/devices")
async def list_devices(
    state: State,
    caller: Caller,
    tenant_id: TenantId = None,
    status: Literal["online", "offline", "degraded"] | None = None,
    limit: Limit = 200,
) -> dict:
    tenant = resolve_tenant(state, caller, tenant_id)
    devices = []
    for device in state.data(tenant).devices:
        update = state.device_status.get((tenant, device["id"]))
        if update is not None:
            device = {**device, "status": update[0], "last_seen": update[1]}
        if status is None or device["status"] == status:
            devices.append(device)
            if len(devices) == limit:
                break
    return {"tenant_id": tenant, "devices": devices, "count": len(devices)}


@router.get("/api/settings")
async def get_settings(state: State, caller: Caller, tenant_id: TenantId = None) -> dict:
    tenant = resolve_tenant(state, caller, tenant_id)
    return {"tenant_id": tenant, **state.settings.get(tenant, {})}


@router.put("/api/settings")
async def update_settings(
    update: SettingsUpdate, state: State, caller: Writer, tenant_id: TenantId = None
) -> dict:
    tenant = resolve_tenant(state, caller, tenant_id)
    state.settings[tenant] = update.model_dump()
    state.record_audit(tenant, caller.username, "settings.update")
    return {"tenant_id": tenant, **state.settings[tenant]}


@router.get("/api/reports")
async def list_reports(
    state: State, caller: Caller, tenant_id: TenantId = None, limit: Limit = 50
) -> dict:
    tenant = resolve_tenant(state, caller, tenant_id)
    created = list(reversed(state.created_reports.get(tenant, {}).values()))
    reports = (created + list(state.data(tenant).reports))[:limit]
    return {"tenant_id": tenant, "reports": reports, "count": len(reports)}


@router.get("/api/reports/{report_id}")
async def get_report(
    report_id: str, state: State, caller: Caller, tenant_id: TenantId = None
) -> dict:
    tenant = resolve_tenant(state, caller, tenant_id)
    report = state.data(tenant).report_index.get(report_id) or state.created_reports.get(
        tenant, {}
    ).get(report_id)
    if report is None:
        raise HTTPException(404, f"unknown report {report_id!r}")
    return report


@router.post("/api/reports", status_code=201)
async def create_report(request: ReportRequest, state: State, caller: Writer) -> JSONResponse:
    tenant = caller.tenant
    report = {
        "id": state.new_id("report"),
        "report_type": request.report_type,
        "title": request.report_type.replace("_", " "),
        "sections": request.include_sections,
        "date_range": request.date_range.model_dump(),
        "timestamp": time.time(),
    }
    state.add_report(tenant, report)
    state.record_audit(tenant, caller.username, "report.create")
    return JSONResponse(report, 201, {"Location": f"/api/reports/{report['id']}"})


@router.get("/api/search")
async def search(
    state: State,
    caller: Caller,
    q: Annotated[str, Query(min_length=1, max_length=100)],
    tenant_id: TenantId = None,
    limit: Limit = 20,
) -> dict:
    tenant = resolve_tenant(state, caller, tenant_id)
    needle = q.lower()
    data = state.data(tenant)
    hits = [
        {"type": "threat", "id": t["id"], "title": t["title"]}
        for t in data.threats
        if needle in t["title"]
    ][:limit]
    if len(hits) < limit:
        hits += [
            {"type": "report", "id": r["id"], "title": r["title"]}
            for r in data.reports
            if needle in r["title"] or needle in r["report_type"]
        ][: limit - len(hits)]
    return {"tenant_id": tenant, "q": q, "results": hits, "count": len(hits)}


@router.post("/api/data/upload", status_code=202)
async def upload(batch: Upload, state: State, caller: Writer) -> dict:
    size = sum(len(entry.data) for entry in batch.network_logs)
    state.uploaded_bytes += size
    return {"accepted": len(batch.network_logs), "bytes": size}
