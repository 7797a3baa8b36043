"""Logging set-up, done once: structlog to stderr, JSON lines off a terminal, pretty on one."""

from __future__ import annotations

import sys
from typing import TextIO

import structlog


def configure_logging(stream: TextIO | None = None) -> None:
    # stderr, never stdout: `locust --json` prints its report on stdout.
    stream = stream or sys.stderr
    # Pretty on a terminal (with its own exception rendering), JSON lines everywhere else.
    if stream.isatty():
        tail = [structlog.dev.ConsoleRenderer()]
    else:
        tail = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *tail,
        ],
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )
