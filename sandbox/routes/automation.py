"""Automation endpoints (X-API-Key): threat stream, bulk device updates, network data ingest."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, field_validator

from sandbox.routes.deps import AutomationTenant, State

router = APIRouter(tags=["automation"])


class DeviceUpdate(BaseModel):
    device_id: str = Field(max_length=64)
    status: Literal["online", "offline", "degraded"]
    last_seen: float


class BulkDeviceUpdate(BaseModel):
    updates: list[DeviceUpdate] = Field(min_length=1, max_length=1000)


class Flow(BaseModel):
    src_ip: str
    dst_ip: str
    bytes: int = Field(ge=0, le=10**12)
    protocol: Literal["TCP", "UDP", "ICMP"]

    @field_validator("src_ip", "dst_ip")
    @classmethod
    def _address(cls, address: str) -> str:
        # Validated as data; nothing connects to it.
        return str(ipaddress.ip_address(address))


class NetworkData(BaseModel):
    timestamp: float
    source: str = Field(max_length=64)
    data: list[Flow] = Field(max_length=1000)


@router.get("/api/threats/stream")
async def stream_threats(
    state: State,
    tenant: AutomationTenant,
    count: Annotated[int, Query(ge=1, le=500)] = 20,
    interval_ms: Annotated[int, Query(ge=0, le=1000)] = 0,
) -> StreamingResponse:
    """NDJSON: `count` threat events, newest first, then the stream ends."""
    threats = state.data(tenant).threats[:count]

    async def events():
        for threat in threats:
            yield json.dumps(threat).encode() + b"\n"
            if interval_ms:
                await asyncio.sleep(interval_ms / 1000)

    return StreamingResponse(events(), media_type="application/x-ndjson")


@router.post("/api/devices/bulk")
async def bulk_device_update(
    batch: BulkDeviceUpdate, state: State, tenant: AutomationTenant
) -> dict:
    known = state.data(tenant).device_index
    not_found = []
    for update in batch.updates:
        if update.device_id in known:
            state.device_status[(tenant, update.device_id)] = (update.status, update.last_seen)
        else:
            not_found.append(update.device_id)
    return {"updated": len(batch.updates) - len(not_found), "not_found": not_found}


@router.post("/api/network/data", status_code=202)
async def ingest_network_data(batch: NetworkData, state: State, tenant: AutomationTenant) -> dict:
    state.network_records += len(batch.data)
    return {"accepted": len(batch.data), "source": batch.source}
