"""POST /api/auth/login: password check, signed expiring bearer token."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from sandbox.accounts import authenticate
from sandbox.routes.deps import State

router = APIRouter(tags=["auth"])


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)


@router.post("/api/auth/login")
async def login(credentials: Credentials, state: State) -> dict:
    account = authenticate(credentials.username, credentials.password, state.config.tenants)
    if account is None:
        raise HTTPException(401, "invalid username or password")
    return {
        "access_token": state.signer.issue(account),
        "token_type": "bearer",
        "expires_in": state.signer.ttl_s,
        "role": account.role,
        "tenant_id": account.tenant,
    }
