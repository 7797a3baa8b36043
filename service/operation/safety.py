"""Safety rails: where load may go, and how much of it; checked before the start and held
on every later change of load."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import structlog

from service.operation.targets import parse_host

logger = structlog.get_logger(__name__)

# Loopback, and the sandbox's name inside the compose stack.
DEFAULT_ALLOWED_HOSTS = "127.0.0.1,localhost,::1,sandbox"


class SafetyError(ValueError):
    """Load that the rails refuse."""


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Allowlist:
    """Hostname patterns (fnmatch) and IP networks (CIDR). A network admits an IP literal in
    it, or a hostname whose every address is in one: the same value as a Kubernetes egress
    policy's ipBlock, so the rail and the network policy agree."""

    patterns: tuple[str, ...]
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Allowlist:
        entries = [p.strip().lower() for p in text.split(",") if p.strip()]
        if not entries:
            raise ValueError("--allowed-hosts is empty: no target could ever be used")
        patterns, networks = [], []
        for entry in entries:
            if "/" not in entry:
                patterns.append(entry)
                continue
            try:
                networks.append(ipaddress.ip_network(entry))
            except ValueError as error:
                raise ValueError(
                    f"--allowed-hosts entry {entry!r} is not an IP network: {error}"
                ) from None
        return cls(tuple(patterns), tuple(networks))

    def allows(self, hostname: str) -> bool:
        hostname = hostname.lower().strip("[]")
        if any(fnmatchcase(hostname, pattern) for pattern in self.patterns):
            return True
        if not self.networks:
            return False
        # Once per new connection pool, not per request; cooperative under gevent.
        addresses = _addresses(hostname)
        return bool(addresses) and all(
            any(address in network for network in self.networks) for address in addresses
        )

    def describe(self) -> str:
        return ", ".join([*self.patterns, *map(str, self.networks)])

    def check(self, url: str) -> None:
        hostname, _port = parse_host(url)
        if not self.allows(hostname):
            raise SafetyError(
                f"target {url} is not in the allowed hosts ({self.describe()}); "
                "add it with --allowed-hosts or SECURENET_ALLOWED_HOSTS"
            )


def _addresses(hostname: str) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return {ipaddress.ip_address(hostname)}
    except ValueError:
        pass
    try:
        answers = socket.getaddrinfo(hostname, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return set()  # unresolvable: refused, nothing is sent
    return {ipaddress.ip_address(answer[4][0].split("%")[0]) for answer in answers}


def check_targets(allowlist: Allowlist, hosts: Iterable[str | None]) -> None:
    for host in hosts:
        if host:
            allowlist.check(host)


def check_load(users: int | None, spawn_rate: float | None, max_users: int, max_rate: float):
    if users is not None and users > max_users:
        raise SafetyError(f"--users {users} is above the limit {max_users} (raise --max-users)")
    if spawn_rate is not None and spawn_rate > max_rate:
        raise SafetyError(
            f"--spawn-rate {spawn_rate:g} is above the limit {max_rate:g} (raise --max-spawn-rate)"
        )


def cap_runner(runner: Any, max_users: int, max_spawn_rate: float) -> None:
    """Hold every later change of load to the limits, whoever asks: the web UI's swarm form,
    a shape's tick, the keyboard, a master spreading users over workers."""
    start = runner.start

    def start_within_limits(user_count: int, spawn_rate: float, *args: Any, **kwargs: Any):
        if user_count > max_users or spawn_rate > max_spawn_rate:
            logger.warning(
                "load_capped",
                users=user_count,
                spawn_rate=spawn_rate,
                max_users=max_users,
                max_spawn_rate=max_spawn_rate,
            )
            user_count = min(user_count, max_users)
            spawn_rate = min(spawn_rate, max_spawn_rate)
        return start(user_count, spawn_rate, *args, **kwargs)

    runner.start = start_within_limits
