"""Admin endpoints (role admin): tenants, users, audit, and the platform's own health."""

from __future__ import annotations

import os
import time
from typing import Literal

import psutil
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from sandbox.accounts import tenant_name
from sandbox.routes.deps import Admin, Limit, Since, State

router = APIRouter(prefix="/api/admin", tags=["admin"])

Permission = Literal["read_threats", "run_scans", "manage_devices", "view_reports", "admin"]
USERS_LISTED = 100
_process = psutil.Process(os.getpid())


class PermissionsUpdate(BaseModel):
    permissions: list[Permission] = Field(max_length=10)
    role: Literal["analyst", "viewer", "user", "admin"]


class ScanLimits(BaseModel):
    daily: int = Field(ge=1, le=100_000)
    monthly: int = Field(ge=1, le=3_000_000)


class TenantSettings(BaseModel):
    scan_limits: ScanLimits
    retention_days: int = Field(ge=1, le=3650)


@router.get("/dashboard")
async def admin_dashboard(state: State, admin: Admin) -> dict:
    now = time.time()
    return {
        "tenants": len(state.tenant_names),
        "active_scans": state.scans.active(now),
        "network_records_ingested": state.network_records,
        "uptime_s": now - state.started,
    }


@router.get("/tenants")
async def list_tenants(state: State, admin: Admin) -> dict:
    tenants = [
        {"tenant_id": tenant_name(n), "settings": state.tenant_settings.get(tenant_name(n), {})}
        for n in range(1, state.config.tenants + 1)
    ]
    return {"tenants": tenants, "count": len(tenants)}


@router.get("/tenants/usage")
async def tenants_usage(state: State, admin: Admin) -> dict:
    usage = {tenant: len(state.scans.of_tenant(tenant)) for tenant in sorted(state.tenant_names)}
    return {"scans_by_tenant": usage}


@router.put("/tenants/{tenant_id}/settings")
async def update_tenant_settings(
    tenant_id: str, settings: TenantSettings, state: State, admin: Admin
) -> dict:
    if tenant_id not in state.tenant_names:
        raise HTTPException(404, f"unknown tenant {tenant_id!r}")
    state.tenant_settings[tenant_id] = settings.model_dump()
    state.record_audit(tenant_id, admin.username, "tenant.settings.update")
    return {"tenant_id": tenant_id, **state.tenant_settings[tenant_id]}


@router.get("/metrics")
async def platform_metrics(state: State, admin: Admin) -> dict:
    return {
        "uptime_s": time.time() - state.started,
        "uploaded_bytes": state.uploaded_bytes,
        "network_records_ingested": state.network_records,
        "fault_rules": len(state.faults.rules),
    }


@router.get("/services/status")
async def services_status(state: State, admin: Admin) -> dict:
    names = ("api", "scanner", "threat-intel", "ingest", "reporting")
    return {"services": [{"name": name, "status": "up"} for name in names]}


@router.get("/resources")
async def resources(admin: Admin) -> dict:
    # cpu_percent(None) compares with the previous call: it never blocks the event loop.
    return {"cpu_ratio": _process.cpu_percent(None) / 100, "rss_bytes": _process.memory_info().rss}


@router.get("/users")
async def list_users(state: State, admin: Admin) -> dict:
    users = [
        {"user_id": f"user_{n}", **state.permissions.get(f"user_{n}", {"role": "user"})}
        for n in range(1, USERS_LISTED + 1)
    ]
    return {"users": users, "count": len(users)}


@router.get("/users/activity")
async def users_activity(state: State, admin: Admin, limit: Limit = 50) -> dict:
    return {"activity": list(state.audit_log)[:limit]}


@router.put("/users/{user_id}/permissions")
async def update_permissions(
    user_id: str, update: PermissionsUpdate, state: State, admin: Admin
) -> dict:
    number = user_id.removeprefix("user_")
    if not (user_id.startswith("user_") and number.isdigit() and 1 <= int(number) <= 1000):
        raise HTTPException(404, f"unknown user {user_id!r}")
    state.permissions[user_id] = update.model_dump()
    state.record_audit(admin.tenant, admin.username, "user.permissions.update")
    return {"user_id": user_id, **state.permissions[user_id]}


@router.get("/audit")
async def audit(state: State, admin: Admin, since: Since, limit: Limit = 100) -> dict:
    entries = [e for e in state.audit_log if e["timestamp"] >= since]
    for entry in state.audit_history():
        if len(entries) >= limit or entry["timestamp"] < since:
            break
        entries.append(entry)
    return {"entries": entries[:limit], "count": min(len(entries), limit)}
