"""gevent's hub prints a failed greenlet's traceback, then a bare timestamp, as plain lines on
stderr. Here they become JSON log lines like every other: one error per failure (the pipeline
rate-limits a storm of them), naming the user class when the greenlet ran a user. A stop
signal's KeyboardInterrupt passing through the hub is how a graceful stop begins, not an
error: it prints nothing."""

from __future__ import annotations

import traceback
from typing import Any

import structlog
from gevent.hub import Hub

QUIET = (KeyboardInterrupt, SystemExit)
logger = structlog.get_logger("securenet.greenlets")


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
    logger.error(
        "greenlet_failed",
        exception=name,
        message=str(value) if value is not None else "",
        user_class=user_class_of(context),
        traceback="".join(traceback.format_exception(kind, value, tb))[-4000:] if tb else None,
    )


def install() -> None:
    """For every hub of the process (each thread has its own), from now on."""
    Hub.print_exception = print_exception  # type: ignore[method-assign]
