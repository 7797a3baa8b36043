"""Service flags as tables: each added to Locust's parser (so flag, env var and locust.conf
all work) with a type from `setting_types` that validates it, and read back once into plain
values."""

from __future__ import annotations

import os
from argparse import ArgumentTypeError
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple


class Flag(NamedTuple):
    flag: str
    env_var: str
    kind: Callable[[str], Any]
    default: Any
    help: str

    @property
    def attribute(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


def add_flags(parser: Any, flags: Iterable[Flag], group: str) -> None:
    """Add `flags` to Locust's parser, in their own help section (a group's arguments stay
    out of Locust's web UI form)."""
    section = parser.add_argument_group(group)
    for flag in flags:
        section.add_argument(
            flag.flag,
            type=flag.kind,
            default=flag.default,
            env_var=flag.env_var,
            help=flag.help,
        )


def read_flags(
    flags: Iterable[Flag], parsed: Any | None, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Values from Locust's parsed options; without them (library use), from the environment."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for flag in flags:
        if parsed is not None and hasattr(parsed, flag.attribute):
            values[flag.attribute] = getattr(parsed, flag.attribute)
            continue
        raw = env.get(flag.env_var)
        if raw is None:
            values[flag.attribute] = flag.default
            continue
        try:
            values[flag.attribute] = flag.kind(raw)
        except (ArgumentTypeError, ValueError) as error:
            raise ValueError(f"{flag.env_var}: {error}") from None
    return values
