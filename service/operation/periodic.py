"""Periodic jobs on the gevent loop: a job that fails is logged, and runs again next time."""

from __future__ import annotations

from collections.abc import Callable

import gevent
import structlog

logger = structlog.get_logger(__name__)


def every(
    seconds: float, job: Callable[[], None], *, first_at_once: bool = False
) -> gevent.Greenlet:
    """Run `job` every `seconds` in its own greenlet (kill the greenlet to stop it)."""

    def loop() -> None:
        if not first_at_once:
            gevent.sleep(seconds)
        while True:
            try:
                job()
            except Exception:
                logger.exception("periodic_job_failed", job=getattr(job, "__qualname__", "job"))
            gevent.sleep(seconds)

    return gevent.spawn(loop)
