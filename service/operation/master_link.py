"""A worker's link to its master: a worker whose master has stopped answering gives up with
exit status 1, so its supervisor (compose's restart policy, systemd, Kubernetes) starts it
again and it registers with whichever master is there now.

Locust's own worker waits 60 s for a silent master and then exits with status 0, which no
supervisor restarts; a restarted master never re-registers the workers it did not start with,
so they would run unaccounted until then.
"""

from __future__ import annotations

import time
from typing import Any

import gevent
import structlog

from service.operation.periodic import every

logger = structlog.get_logger(__name__)
CHECK_INTERVAL_S = 1.0


class MasterLink:
    def __init__(self, environment: Any, timeout_s: float) -> None:
        self.environment = environment
        self.timeout_s = timeout_s
        self.gave_up = False
        self._last_heard: float | None = None

    def attach(self) -> None:
        every(CHECK_INTERVAL_S, self.check)
        self.environment.events.heartbeat_received.add_listener(self._on_heartbeat)
        self.environment.events.quitting.add_listener(self._on_quitting)

    def silent_for(self) -> float:
        """Seconds since the master last answered (0 before it ever did)."""
        last = getattr(self.environment.runner, "last_heartbeat_timestamp", None)
        return time.time() - last if last else 0.0

    def check(self) -> None:
        silent_s = self.silent_for()
        if silent_s > self.timeout_s:
            self._give_up(silent_s)

    def _on_heartbeat(self, timestamp: float | None = None, **_kwargs: Any) -> None:
        # A worker frozen past its timeout (SIGSTOP, a paused VM) hears the master again as it
        # wakes: the reply to its first heartbeat can arrive before the periodic check runs.
        # The gap between two answers is the silence, whichever of the two noticed it first;
        # the master has given this worker's users to others by then.
        heard = timestamp or time.time()
        if self._last_heard is not None and heard - self._last_heard > self.timeout_s:
            # Not from here: this runs in the greenlet that receives messages, which quit kills.
            gevent.spawn(self._give_up, heard - self._last_heard)
        self._last_heard = heard

    def _give_up(self, silent_s: float) -> None:
        if self.gave_up:
            return
        self.gave_up = True
        logger.error("master_lost", silent_s=round(silent_s, 1), timeout_s=self.timeout_s)
        self.environment.process_exit_code = 1
        self.environment.runner.quit()

    def _on_quitting(self, **_kwargs: Any) -> None:
        # Locust's own give-up (or any quit while the master is silent) is a failure too.
        if self.gave_up or self.silent_for() > self.timeout_s:
            self.environment.process_exit_code = 1
