"""Split pass-through arguments the way Locust's own parser reads them: Locust's parser with
the service's settings and preflight installed explicitly, as `service.plugin` installs them in
the Locust process."""

from __future__ import annotations

from functools import cache
from typing import Any

from locust.argument_parser import get_parser

from service.settings.credentials import Credentials
from service.settings.preflight import install, name_the_source


class LocustArgsError(ValueError):
    """An option Locust does not know, or one missing its value."""


def service_parser(**kwargs: Any) -> Any:
    """Locust's parser (`get_parser(**kwargs)`) with the service's flags and preflight."""
    parser = get_parser(**kwargs)
    install(parser, Credentials.from_env())
    return parser


@cache
def _option_arity() -> dict[str, bool]:
    """Locust's option strings, each mapped to whether it takes a value."""
    parser = service_parser(default_config_files=[])
    return {flag: action.nargs != 0 for flag, action in parser._option_string_actions.items()}


def split_passthrough(tokens: list[str]) -> tuple[list[str], list[str]]:
    """(Locust options with their values, positional user class names)."""
    arity = _option_arity()
    options: list[str] = []
    positionals: list[str] = []
    rest = iter(tokens)
    for token in rest:
        if token == "--":
            positionals.extend(rest)
            break
        if not token.startswith("-"):
            positionals.append(token)
            continue
        flag = token.split("=", 1)[0]
        if len(token) > 2 and not token.startswith("--") and arity.get(token[:2]):
            flag = token[:2]  # a short option with its value attached: -u100, -t30s
            options.append(token)
            continue
        if flag not in arity:
            raise LocustArgsError(f"unknown option {flag} (not a flag of this tool or of Locust)")
        options.append(token)
        if arity[flag] and "=" not in token:
            value = next(rest, None)
            if value is None:
                raise LocustArgsError(f"option {flag} needs a value")
            options.append(value)
    return options, positionals


def parse_locust_options(options: list[str]) -> Any:
    """Locust's parsed options for these flags, with its env vars and locust.conf applied."""
    parser = service_parser()

    def error(message: str):
        raise LocustArgsError(name_the_source(parser, message))

    parser.error = error  # argparse would print its usage and exit
    return parser.parse_args(options)
