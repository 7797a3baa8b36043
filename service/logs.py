"""Logging, configured once: one structlog pipeline for the service's events and Locust's own
log records, to stderr; JSON lines off a terminal, pretty on one; secrets redacted, storms
rate-limited."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO

import structlog

from service.log_rate_limit import RateLimiter
from service.log_redaction import Redactor

# Left to Locust: its console stats table is a plain-text report, not a log event.
LOCUST_OWN_HANDLERS = ("locust.stats_logger",)
_handler: logging.Handler | None = None


def configure_logging(
    stream: TextIO | None = None, secret_values: Iterable[str] = (), level: str = "INFO"
) -> None:
    global _handler
    # stderr, never stdout: `locust --json` prints its report on stdout.
    stream = stream or sys.stderr
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = (
        structlog.dev.ConsoleRenderer() if stream.isatty() else structlog.processors.JSONRenderer()
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            RateLimiter(),
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            Redactor(secret_values),
            renderer,
        ],
    )
    _handler = logging.StreamHandler(stream)
    _handler.setFormatter(formatter)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    logging.getLogger().setLevel(level)
    route_stdlib_logging()


def route_stdlib_logging() -> None:
    """Send the root logger and Locust's loggers through the pipeline (again after Locust's
    own logging set-up, which replaces handlers); Locust's web UI log reader stays."""
    if _handler is None:
        return
    for name in ("", "locust"):
        log = logging.getLogger(name)
        keep = [h for h in log.handlers if type(h).__name__ == "LogReader"]
        log.handlers = [*keep, _handler]
    for name in LOCUST_OWN_HANDLERS:
        logging.getLogger(name).propagate = False
