"""Sandbox settings, read once from the environment and validated."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

# Sandbox-only defaults: the sandbox holds no real data, so fixed secrets are safe here and
# keep tokens valid across a sandbox restart (like a real API with a persistent signing key).
DEFAULT_API_KEY = "automated_system_key"
DEFAULT_ADMIN_KEY = "sandbox-admin-key"
DEFAULT_TOKEN_SECRET = "sandbox-token-secret"


class ConfigError(ValueError):
    """A setting has a value the sandbox cannot use."""


@dataclass(frozen=True)
class SandboxConfig:
    seed: int = 1337
    tenants: int = 100
    token_ttl_s: float = 3600.0
    token_secret: str = DEFAULT_TOKEN_SECRET
    api_key: str = DEFAULT_API_KEY
    admin_key: str = DEFAULT_ADMIN_KEY
    # Per-tenant scan admission: a token bucket of `scan_burst` refilled at `scan_rate_per_s`.
    scan_burst: int = 10
    scan_rate_per_s: float = 2.0
    scan_queued_s: float = 1.0
    scan_running_s: float = 4.0
    max_body_bytes: int = 1024 * 1024
    # Capacity by construction (sandbox.capacity): at most this many requests in service at
    # once (0: unlimited), each taking capacity_service_ms, at most capacity_queue waiting.
    capacity_concurrency: int = 0
    capacity_service_ms: float = 0.0
    capacity_queue: int = 1000
    # The build identity it reports (X-Build-Version on every response, GET /api/version);
    # changed at runtime through the control plane to stage a deploy.
    version: str = "1.0.0"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SandboxConfig:
        """Build from SANDBOX_* variables; a bad value raises ConfigError naming it."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for field in fields(cls):
            name = f"SANDBOX_{field.name.upper()}"
            if name not in env:
                continue
            raw = env[name]
            try:
                values[field.name] = type(field.default)(raw)
            except ValueError:
                raise ConfigError(
                    f"{name}={raw!r} is not a valid {type(field.default).__name__}"
                ) from None
        return cls(**values).validated()

    def validated(self) -> SandboxConfig:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"SANDBOX_{item.name.upper()} must be finite, got {value}")
        for name in ("capacity_concurrency", "capacity_service_ms", "capacity_queue"):
            if getattr(self, name) < 0:
                raise ConfigError(
                    f"SANDBOX_{name.upper()} must not be negative, got {getattr(self, name)}"
                )
        positive = ("tenants", "token_ttl_s", "scan_burst", "scan_rate_per_s", "max_body_bytes")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(
                    f"SANDBOX_{name.upper()} must be positive, got {getattr(self, name)}"
                )
        for name in ("token_secret", "api_key", "admin_key"):
            if not getattr(self, name):
                raise ConfigError(f"SANDBOX_{name.upper()} must not be empty")
        check_version(self.version)
        return self


MAX_VERSION_LENGTH = 64


def check_version(version: str) -> str:
    """A build version: short printable ASCII (it ends up in a response header)."""
    if not version or len(version) > MAX_VERSION_LENGTH or not version.isascii():
        raise ConfigError(f"a version is 1-{MAX_VERSION_LENGTH} ASCII characters, got {version!r}")
    if not version.isprintable():
        raise ConfigError(f"a version has no control characters, got {version!r}")
    return version
