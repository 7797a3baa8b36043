"""Bad input on the command line: one exception for every command, and its one-line report
with exit status 2."""

from __future__ import annotations

import sys
from typing import NoReturn

PROG = "securenet-loadgen"
USAGE_EXIT = 2


class UsageError(ValueError):
    """Bad input: reported as one line, exit status 2."""


def raise_usage_error(message: str) -> NoReturn:
    """An argparse parser's `error` that raises instead of printing the usage and exiting."""
    raise UsageError(message)


def report_usage_error(error: UsageError | str, prog: str = PROG) -> int:
    """Print the one line and return the exit status."""
    print(f"{prog}: error: {error}", file=sys.stderr)
    return USAGE_EXIT
