"""Checks on where load goes and where the service listens, made before any load starts."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit


class TargetError(ValueError):
    """A host URL or port the service cannot use."""


def parse_host(url: str) -> tuple[str, int]:
    """(hostname, port) of an http(s) base URL, or TargetError naming the bad value."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise TargetError(f"invalid host URL {url!r}: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetError(f"invalid host URL {url!r}: expected http(s)://hostname[:port]")
    if parts.query or parts.fragment:
        raise TargetError(f"invalid host URL {url!r}: a base URL has no query or fragment")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def check_reachable(url: str, timeout_s: float = 3.0) -> None:
    host, port = parse_host(url)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise TargetError(f"target {url} is unreachable: {reason}") from None


def check_port_free(host: str, port: int, purpose: str) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            raise TargetError(
                f"{purpose} port {port} on {host} is not available: {error.strerror}"
            ) from None
