"""Scenario credentials, read once from the environment; the seed's values are sandbox defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields


def _secret(default: str):
    # repr=False: a secret never reaches a log line through a repr of this object.
    return field(default=default, repr=False)


@dataclass(frozen=True)
class Credentials:
    """Passwords per seed account family, the automation API key, the web UI's password.

    Each comes from `SECURENET_<NAME>` (e.g. SECURENET_USER_PASSWORD, SECURENET_API_KEY).
    """

    user_password: str = _secret("test_password")
    admin_password: str = _secret("admin_password")
    load_password: str = _secret("password")  # stress_user_N and spike_user_N
    analyst_password: str = _secret("analyst_pass")
    admin_role_password: str = _secret("admin_pass")  # admin_N
    viewer_password: str = _secret("viewer_pass")
    api_key: str = _secret("automated_system_key")
    # The web UI's operator password (--web-login); no default: none is safe beyond a sandbox.
    web_password: str = _secret("")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Credentials:
        env = os.environ if env is None else env
        names = (f.name for f in fields(cls))
        return cls(
            **{n: env[f"SECURENET_{n.upper()}"] for n in names if f"SECURENET_{n.upper()}" in env}
        )

    def secret_values(self) -> list[str]:
        """Every value, for the log redactor."""
        return [getattr(self, f.name) for f in fields(self)]
