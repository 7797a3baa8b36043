"""Logging, configured once: one structlog pipeline for the service's events and Locust's own
log records, to stderr (and `--logfile`); JSON lines off a terminal, pretty on one; secrets
redacted, storms rate-limited."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

import structlog
from locust.log import LogReader
from structlog import DropEvent

from service.logs.rate_limit import RateLimiter
from service.logs.redaction import Redactor

# Locust's console stats table: a plain-text report for a person at a terminal, not a log event.
LOCUST_TABLE_LOGGER = "locust.stats_logger"
_pipeline: _Pipeline | None = None


class PipelineHandler(logging.StreamHandler):
    """A stream handler whose formatter may drop a record (the rate limiter raises structlog's
    DropEvent, a BaseException that would otherwise escape into the code that logged)."""

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(DropEvent):
            super().emit(record)


class _Pipeline:
    def __init__(self, secret_values: Iterable[str]) -> None:
        self.shared = [
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ]
        self.rate_limiter = RateLimiter()
        self.redactor = Redactor(secret_values)
        # Locust's web UI shows its recent log lines; it looks the reader up by this name.
        self.log_reader = LogReader()
        self.log_reader.name = "log_reader"
        self.log_reader.setFormatter(
            logging.Formatter("[%(asctime)s] %(levelname)s/%(name)s: %(message)s")
        )
        self.handlers: list[logging.Handler] = []
        # One handler per stream for the life of the process: a handler dropped on
        # reconfiguration would be finalized at exit, where older gevents cannot take
        # logging's lock ("Exception ignored in _removeHandlerRef" on stderr).
        self._made: dict[tuple[int, bool], logging.Handler] = {}
        self.table_handler = logging.StreamHandler(sys.stderr)
        self.table_handler.setFormatter(logging.Formatter("%(message)s"))

    def handler(self, stream: TextIO, json_lines: bool) -> logging.Handler:
        key = (id(stream), json_lines)
        if key not in self._made:
            self._made[key] = self._make_handler(stream, json_lines)
        return self._made[key]

    def _make_handler(self, stream: TextIO, json_lines: bool) -> logging.Handler:
        renderer = (
            structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer()
        )
        handler = PipelineHandler(stream)
        handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=self.shared,
                processors=[
                    self.rate_limiter,
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    self.redactor,
                    renderer,
                ],
            )
        )
        return handler


def scrub(text: str) -> str:
    """The logs' redaction for text that leaves by another way (a request's name becomes a
    label, a report row): the known secret values, secrets after telling words, passwords in
    URLs."""
    return _pipeline.redactor.scrub(text) if _pipeline is not None else text


def configure_logging(
    stream: TextIO | None = None,
    secret_values: Iterable[str] = (),
    level: str = "INFO",
    logfile: str | Path | None = None,
) -> None:
    """Set up the pipeline; called again once the settings are known (level, log file)."""
    global _pipeline
    if _pipeline is None or secret_values:
        _pipeline = _Pipeline(secret_values)
    # stderr, never stdout: `locust --json` prints its report on stdout.
    stream = stream or sys.stderr
    _pipeline.handlers = [_pipeline.handler(stream, json_lines=not stream.isatty())]
    if logfile:
        # A log file is for a machine to read: JSON lines, whatever stderr is.
        _pipeline.handlers.append(_pipeline.handler(_log_file(str(logfile)), json_lines=True))
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_pipeline.shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    logging.getLogger().setLevel(level.upper())
    logging.getLogger("locust").setLevel(level.upper())
    route_stdlib_logging()


_log_files: dict[str, TextIO] = {}


def _log_file(path: str) -> TextIO:
    if path not in _log_files:
        _log_files[path] = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - lives with the process
    return _log_files[path]


def route_stdlib_logging() -> None:
    """Send the root logger and Locust's loggers through the pipeline. Locust's console table
    stays plain on a terminal and is not written at all elsewhere (the exporter, `--json`,
    `--csv` and `--html` carry the same numbers)."""
    if _pipeline is None:
        return
    for name in ("", "locust"):
        logging.getLogger(name).handlers = [_pipeline.log_reader, *_pipeline.handlers]
    logging.getLogger("locust").propagate = False
    table = logging.getLogger(LOCUST_TABLE_LOGGER)
    table.propagate = False
    table.setLevel(logging.INFO)
    table.handlers = [_pipeline.log_reader]
    if sys.stderr.isatty():
        table.handlers.append(_pipeline.table_handler)
