"""`make bench ARGS=spawn`: what a worker spends reading one spawn message's options.

Locust's worker keeps the master's custom options with the expression below, as its
`WorkerRunner.worker` runs it on every spawn message (a load shape sends one per worker every
second). Timed as Locust alone (56 options), with the service's settings (108) and with the
service's settings and its one-parser cache (`service.operation.spawn_message_cost`). CPU
time per message.
"""

from __future__ import annotations

import time
from typing import Any

from locust import argument_parser

from bench.markdown import print_table

MESSAGES = 30


def _per_message_ms(options: dict[str, Any]) -> float:
    began = time.process_time()
    for _ in range(MESSAGES):
        {k: v for k, v in options.items() if k not in argument_parser.default_args_dict()}
    return (time.process_time() - began) / MESSAGES * 1e3


def main(_argv: list[str]) -> None:
    plain = vars(argument_parser.get_parser(default_config_files=[]).parse_args([]))
    locusts_own = argument_parser.default_args_dict
    import service.plugin  # noqa: F401 (adds the settings, installs the cache)

    with_settings = vars(argument_parser.get_parser(default_config_files=[]).parse_args([]))
    cached = argument_parser.default_args_dict
    rows = []
    for label, options, defaults in (
        ("plain Locust", plain, locusts_own),
        ("with the service's settings, Locust's lookup", with_settings, locusts_own),
        ("with the service's settings and the cache", with_settings, cached),
    ):
        argument_parser.default_args_dict = defaults
        rows.append((label, len(options), f"{_per_message_ms(options):.2f}"))
    argument_parser.default_args_dict = cached
    print_table(("worker", "options per message", "CPU ms per spawn message"), rows)
