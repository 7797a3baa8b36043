"""Request dependencies shared by the routes: state, authentication, tenant, time windows."""

from __future__ import annotations

import re
import time
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request

from sandbox.accounts import ADMIN, WRITERS, Account
from sandbox.state import SandboxState

_WINDOW = re.compile(r"(\d+)([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def get_state(request: Request) -> SandboxState:
    return request.app.state.sandbox


State = Annotated[SandboxState, Depends(get_state)]


def bearer_account(state: State, authorization: Annotated[str | None, Header()] = None) -> Account:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "missing bearer token", {"WWW-Authenticate": "Bearer"})
    account = state.signer.verify(token)
    if account is None:
        raise HTTPException(401, "invalid or expired token", {"WWW-Authenticate": "Bearer"})
    return account


Caller = Annotated[Account, Depends(bearer_account)]


def admin_account(account: Caller) -> Account:
    if account.role != ADMIN:
        raise HTTPException(403, f"role {account.role!r} may not use admin endpoints")
    return account


def writer_account(account: Caller) -> Account:
    if account.role not in WRITERS:
        raise HTTPException(403, f"role {account.role!r} is read-only")
    return account


Admin = Annotated[Account, Depends(admin_account)]
Writer = Annotated[Account, Depends(writer_account)]


def api_key_tenant(state: State, x_api_key: Annotated[str | None, Header()] = None) -> str:
    """Automation clients authenticate with the API key and act on tenant_1."""
    if x_api_key is None or x_api_key != state.config.api_key:
        raise HTTPException(401, "missing or invalid X-API-Key")
    return "tenant_1"


AutomationTenant = Annotated[str, Depends(api_key_tenant)]


def resolve_tenant(state: SandboxState, account: Account, tenant_id: str | None) -> str:
    """The tenant a request reads: the one asked for, else the account's home tenant."""
    tenant = tenant_id or account.tenant
    if tenant not in state.tenant_names:
        raise HTTPException(404, f"unknown tenant {tenant_id!r}")
    return tenant


TenantId = Annotated[str | None, Query(max_length=64)]


def since_cutoff(
    since: Annotated[str | None, Query(max_length=32, description="e.g. 24h, 7d, 30m")] = None,
    days: Annotated[int | None, Query(ge=1, le=365)] = None,
) -> float:
    """The oldest timestamp a filtered listing includes (0 = no filter)."""
    if since is not None:
        match = _WINDOW.fullmatch(since)
        if match is None:
            raise HTTPException(422, f"since={since!r} is not a window like 24h, 7d or 30m")
        return time.time() - int(match.group(1)) * _UNIT_S[match.group(2)]
    if days is not None:
        return time.time() - days * 86400
    return 0.0


Since = Annotated[float, Depends(since_cutoff)]
Limit = Annotated[int, Query(ge=1, le=500)]
