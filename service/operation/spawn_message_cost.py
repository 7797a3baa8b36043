"""A worker reads each spawn message with one argument parser, not one per option.

Locust's worker keeps the master's custom options by testing each option of the message
against `argument_parser.default_args_dict()`, which builds and runs Locust's whole parser on
every call: one parser per option of the message. The service's settings double the options
(56 to 108), and a parser costs 2-3 ms: 0.26-0.36 CPU-s per message, which a load shape sends every
second. On a loaded machine that is a worker blocked long enough to miss its heartbeats and be
dropped by its master. Locust's options do not change within a process: their names (all the
worker tests) are read once; each call still returns a fresh dict.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from locust import argument_parser

_locusts_own = argument_parser.default_args_dict


@cache
def _defaults_once() -> dict[str, Any]:
    return _locusts_own()


def default_args_dict() -> dict[str, Any]:
    """Locust's options and their defaults, from a parser built once per process."""
    return dict(_defaults_once())


def install() -> None:
    argument_parser.default_args_dict = default_args_dict
