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

import structlog

from service.operation.periodic import every

logger = structlog.get_logger(__name__)
CHECK_INTERVAL_S = 1.0


class MasterLink:
    def __init__(self, environment: Any, timeout_s: float) -> None:
        self.environment = environment
        self.timeout_s = timeout_s
        self.gave_up = False

    def attach(self) -> None:
        every(CHECK_INTERVAL_S, self.check)
        self.environment.events.quitting.add_listener(self._on_quitting)

    def silent_for(self) -> float:
        """Seconds since the master last answered (0 before it ever did)."""
        last = getattr(self.environment.runner, "last_heartbeat_timestamp", None)
        return time.time() - last if last else 0.0

    def check(self) -> None:
        silent_s = self.silent_for()
        if self.gave_up or silent_s <= self.timeout_s:
            return
        self.gave_up = True
        logger.error("master_lost", silent_s=round(silent_s, 1), timeout_s=self.timeout_s)
        self.environment.process_exit_code = 1
        self.environment.runner.quit()

    def _on_quitting(self, **_kwargs: Any) -> None:
        # Locust's own give-up (or any quit while the master is silent) is a failure too.
        if self.gave_up or self.silent_for() > self.timeout_s:
            self.environment.process_exit_code = 1
