"""gevent's hub prints a failed greenlet's traceback, then a bare timestamp, as plain lines on
stderr. Here they become JSON log lines like every other: one error per distinct failure (user
class, exception class and message; the next identical ones are counted in
`loadgen_user_errors_total`, not logged again), naming the user class when the greenlet ran a
user. A stop signal's KeyboardInterrupt passing through the hub is how a graceful stop
begins, not an error: it prints nothing."""

from __future__ import annotations

import traceback
from typing import Any

import structlog
from gevent.hub import Hub

QUIET = (KeyboardInterrupt, SystemExit)
MAX_DISTINCT = 1000  # failures remembered as logged; the memory starts over when full
logger = structlog.get_logger("securenet.greenlets")
_logged: set[tuple[str | None, str, str]] = set()


def user_class_of(context: Any) -> str | None:
    """The class of the Locust user a greenlet runs (Locust spawns it with the user as its
    first argument), or None."""
    args = getattr(context, "args", None) or ()
    user = args[0] if args else None
    return type(user).__name__ if hasattr(user, "environment") and hasattr(user, "tasks") else None


def print_exception(_hub: Hub, context: Any, kind: Any, value: Any, tb: Any) -> None:
    if isinstance(kind, type) and issubclass(kind, QUIET):
        return
    name = getattr(kind, "__name__", str(kind))
    message = str(value)[:500] if value is not None else ""
    user_class = user_class_of(context)
    if (user_class, name, message) in _logged:
        return
    if len(_logged) >= MAX_DISTINCT:
        _logged.clear()
    _logged.add((user_class, name, message))
    logger.error(
        "greenlet_failed",
        exception=name,
        message=message,
        user_class=user_class,
        traceback="".join(traceback.format_exception(kind, value, tb))[-4000:] if tb else None,
    )


def install() -> None:
    """For every hub of the process (each thread has its own), from now on."""
    Hub.print_exception = print_exception  # type: ignore[method-assign]
