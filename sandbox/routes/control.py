"""The sandbox's control plane: health and runtime fault switches, guarded by the admin key."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query
from pydantic import BaseModel

from sandbox.capacity import CapacityRule
from sandbox.config import ConfigError, check_version
from sandbox.faults import FaultRule
from sandbox.routes.deps import State

CONTROL_PREFIX = "/_sandbox"


def _admin_key(state: State, x_sandbox_admin_key: Annotated[str | None, Header()] = None) -> None:
    if x_sandbox_admin_key is None or not hmac.compare_digest(
        x_sandbox_admin_key, state.config.admin_key
    ):
        raise HTTPException(401, "missing or invalid X-Sandbox-Admin-Key")


router = APIRouter(prefix=CONTROL_PREFIX, tags=["control"])
guarded = APIRouter(prefix=CONTROL_PREFIX, tags=["control"], dependencies=[Depends(_admin_key)])


@router.get("/health")
async def health() -> dict:
    return {"status": "ok"}


@guarded.get("/requests")
async def traced_requests(state: State, limit: Annotated[int, Query(ge=0, le=1000)] = 100) -> dict:
    """The latest requests that carried a traceparent, newest first."""
    return {"seen": state.traced.seen, "requests": state.traced.latest(limit)}


# Open, like /health: a dashboard's exemplar links here from a browser, which sends no key;
# a trace id must be known to look it up, and the record holds no body or header.
@router.get("/requests/{trace_id}")
async def traced_request(trace_id: Annotated[str, Path(max_length=64)], state: State) -> dict:
    """The request of one trace id (from an exemplar), as the sandbox saw it."""
    found = state.traced.get(trace_id)
    if found is None:
        raise HTTPException(404, f"no request with trace id {trace_id!r} among the latest kept")
    return found


@guarded.get("/faults")
async def list_faults(state: State) -> dict:
    return {"rules": [rule.model_dump() for rule in state.faults.rules]}


@guarded.put("/faults")
async def set_fault(rule: FaultRule, state: State) -> dict:
    """Add or replace the rule for `rule.path_prefix`."""
    state.faults.set(rule)
    return {"rules": [r.model_dump() for r in state.faults.rules]}


@guarded.delete("/faults")
async def clear_faults(
    state: State, path_prefix: Annotated[str | None, Query(max_length=200)] = None
) -> dict:
    """Remove one prefix's rule, or every rule when no prefix is given."""
    if path_prefix is None:
        state.faults.clear()
    elif not state.faults.remove(path_prefix):
        raise HTTPException(404, f"no fault rule for {path_prefix!r}")
    return {"rules": [r.model_dump() for r in state.faults.rules]}


def _capacity(state: State) -> dict:
    return {
        "rules": [
            {**rule.model_dump(), "requests_per_s": rule.requests_per_s}
            for rule in state.capacity.rules
        ]
    }


@guarded.get("/capacity")
async def list_capacity(state: State) -> dict:
    return _capacity(state)


@guarded.put("/capacity")
async def set_capacity(rule: CapacityRule, state: State) -> dict:
    """Add or replace the capacity pool of `rule.path_prefix` (its queue starts empty)."""
    state.capacity.set(rule)
    return _capacity(state)


@guarded.delete("/capacity")
async def clear_capacity(
    state: State, path_prefix: Annotated[str | None, Query(max_length=200)] = None
) -> dict:
    """Remove one prefix's pool, or every pool when no prefix is given."""
    if path_prefix is None:
        state.capacity.clear()
    elif not state.capacity.remove(path_prefix):
        raise HTTPException(404, f"no capacity rule for {path_prefix!r}")
    return _capacity(state)


class Version(BaseModel):
    version: str


@guarded.put("/version")
async def set_version(body: Version, state: State) -> dict:
    """Stage a deploy: the build version the API reports from now on."""
    try:
        state.version = check_version(body.version)
    except ConfigError as error:
        raise HTTPException(422, str(error)) from None
    return {"version": state.version}
