"""Threats and alerts of a tenant: listing with filters, details, related data, triage."""

from __future__ import annotations

import random
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from sandbox.routes.deps import Caller, Limit, Since, State, TenantId, Writer, resolve_tenant
from sandbox.state import SandboxState

router = APIRouter(tags=["threats"])

Severity = Literal["low", "medium", "high", "critical"]
ThreatStatus = Literal["new", "investigating", "resolved"]


class ThreatUpdate(BaseModel):
    status: ThreatStatus
    assigned_to: str | None = Field(None, max_length=64)


def _current(state: SandboxState, tenant: str, threat: dict) -> dict:
    update = state.threat_updates.get((tenant, threat["id"]))
    return threat if update is None else {**threat, **update}


def _threat_or_404(state: SandboxState, tenant: str, threat_id: str) -> dict:
    threat = state.data(tenant).threat_index.get(threat_id)
    if threat is None:
        raise HTTPException(404, f"unknown threat {threat_id!r}")
    return _current(state, tenant, threat)


@router.get("/api/threats")
async def list_threats(
    state: State,
    caller: Caller,
    since: Since,
    tenant_id: TenantId = None,
    limit: Limit = 50,
    severity: Severity | None = None,
    status: ThreatStatus | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
) -> dict:
    tenant = resolve_tenant(state, caller, tenant_id)
    needle = q.lower() if q else None
    found = []
    for threat in state.data(tenant).threats:
        if threat["timestamp"] < since:
            break  # newest first: everything after is older
        threat = _current(state, tenant, threat)
        if severity and threat["severity"] != severity:
            continue
        if status and threat["status"] != status:
            continue
        if needle and needle not in threat["title"]:
            continue
        found.append(threat)
        if len(found) == limit:
            break
    return {"tenant_id": tenant, "threats": found, "count": len(found)}


@router.get("/api/threats/{threat_id}")
async def get_threat(
    threat_id: str, state: State, caller: Caller, tenant_id: TenantId = None
) -> dict:
    return _threat_or_404(state, resolve_tenant(state, caller, tenant_id), threat_id)


@router.get("/api/threats/{threat_id}/network-data")
async def threat_network_data(
    threat_id: str, state: State, caller: Caller, tenant_id: TenantId = None
) -> dict:
    tenant = resolve_tenant(state, caller, tenant_id)
    threat = _threat_or_404(state, tenant, threat_id)
    rng = random.Random(f"{state.config.seed}/{tenant}/{threat_id}")
    flows = [
        {
            "src_ip": threat["source_ip"],
            "dst_ip": f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "bytes": rng.randint(64, 1_500_000),
            "protocol": rng.choice(("TCP", "UDP", "ICMP")),
        }
        for _ in range(rng.randint(5, 20))
    ]
    return {"threat_id": threat_id, "flows": flows}


@router.get("/api/threats/{threat_id}/devices")
async def threat_devices(
    threat_id: str, state: State, caller: Caller, tenant_id: TenantId = None
) -> dict:
    tenant = resolve_tenant(state, caller, tenant_id)
    threat = _threat_or_404(state, tenant, threat_id)
    device = state.data(tenant).device_index[threat["device_id"]]
    return {"threat_id": threat_id, "devices": [device]}


@router.put("/api/threats/{threat_id}")
async def update_threat(
    threat_id: str, update: ThreatUpdate, state: State, caller: Writer, tenant_id: TenantId = None
) -> dict:
    tenant = resolve_tenant(state, caller, tenant_id)
    _threat_or_404(state, tenant, threat_id)
    state.threat_updates[(tenant, threat_id)] = update.model_dump(exclude_none=True)
    state.record_audit(tenant, caller.username, "threat.update")
    return _threat_or_404(state, tenant, threat_id)


@router.get("/api/alerts")
async def list_alerts(
    state: State,
    caller: Caller,
    since: Since,
    tenant_id: TenantId = None,
    limit: Limit = 100,
    severity: Severity | None = None,
) -> dict:
    tenant = resolve_tenant(state, caller, tenant_id)
    alerts = [
        alert
        for alert in state.data(tenant).alerts
        if alert["timestamp"] >= since and (severity is None or alert["severity"] == severity)
    ][:limit]
    return {"tenant_id": tenant, "alerts": alerts, "count": len(alerts)}
