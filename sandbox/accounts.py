"""The accounts the seed scenarios log in with, each with its role and home tenant."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

ADMIN = "admin"
ANALYST = "analyst"
USER = "user"
VIEWER = "viewer"
# Roles that may change data; viewers are read-only.
WRITERS = frozenset({ADMIN, ANALYST, USER})


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    tenant: str


# (pattern, password, role, highest N): the families of accounts the seed's locustfiles use.
_FAMILIES = (
    (re.compile(r"admin"), "admin_password", ADMIN, None),
    (re.compile(r"admin_(\d+)"), "admin_pass", ADMIN, 10),
    (re.compile(r"analyst_(\d+)"), "analyst_pass", ANALYST, 50),
    (re.compile(r"viewer_(\d+)"), "viewer_pass", VIEWER, 100),
    (re.compile(r"user_(\d+)"), "test_password", USER, 1000),
    (re.compile(r"stress_user_(\d+)"), "password", USER, 10000),
    (re.compile(r"spike_user_(\d+)"), "password", USER, 1000),
)


def tenant_name(number: int) -> str:
    return f"tenant_{number}"


def home_tenant(username: str, tenants: int) -> str:
    """A stable tenant per username, so every login of one account sees the same data."""
    return tenant_name(zlib.crc32(username.encode()) % tenants + 1)


def find_account(username: str, tenants: int) -> tuple[Account, str] | None:
    """The account and its password, or None when no such account exists."""
    for pattern, password, role, highest in _FAMILIES:
        match = pattern.fullmatch(username)
        if match is None:
            continue
        if highest is not None and not 1 <= int(match.group(1)) <= highest:
            return None
        return Account(username, role, home_tenant(username, tenants)), password
    return None


def authenticate(username: str, password: str, tenants: int) -> Account | None:
    found = find_account(username, tenants)
    if found is None or found[1] != password:
        return None
    return found[0]
