"""The SecureNet sandbox: a self-contained stand-in for the SecureNet API."""

from sandbox.app import create_app
from sandbox.config import SandboxConfig

__all__ = ["SandboxConfig", "create_app"]
