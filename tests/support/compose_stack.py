"""The compose stack's own commands, resolved by `docker-compose config` from .env.example,
turned into plain processes on 127.0.0.1 for the tests."""

from __future__ import annotations

import subprocess
import sys
from functools import cache

import yaml

from tests.support.processes import ROOT


@cache
def compose_services() -> dict[str, dict]:
    """docker-compose.yml as docker-compose resolves it with .env.example."""
    done = subprocess.run(
        ["docker-compose", "--env-file", ".env.example", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return yaml.safe_load(done.stdout)["services"]


def local_command(service: str, replace: dict[str, str], extra: tuple[str, ...] = ()) -> list[str]:
    """A service's command with compose names and ports swapped for the tests' (`replace`
    maps a whole argument, or the value part of `--flag=value`, to its local stand-in)."""
    command = list(compose_services()[service]["command"])
    assert command[0] == "python", f"{service}: not one of the project's commands"
    local = [sys.executable]
    for argument in command[1:]:
        flag, equals, value = argument.partition("=")
        if equals and value in replace:
            local.append(f"{flag}={replace[value]}")
        elif argument in replace:
            local.append(replace[argument])
        else:
            local.append(argument)
    return [*local, *extra]
