"""A SIGTERM that arrives while Locust is still starting is held, not fatal.

Locust registers a worker with its master (a master opens its port) before it installs its own
SIGTERM handler, and the plugin's init runs in between: on a loaded machine that window lasts
seconds. A SIGTERM inside it (a scale-down right after a scale-up) killed the process by the
default action, with no goodbye: the master counted a worker that left as lost. Held from the
moment Locust parses its arguments, it is sent again until Locust's handler takes it, and the
process stops as Locust stops it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import gevent

RESEND_S = 0.05
# A process in which Locust never installs its handler (a programmatic runner) still dies of
# the signal, this much later.
GIVE_UP_S = 10.0


class _Held:
    installed = False
    previous: Any = None  # the handler before ours, while ours is in place


def hold() -> None:
    """Hold SIGTERM until Locust's own handler takes it: once per process (Locust builds its
    parser again later, after its handler is installed, which this must not replace)."""
    if _Held.installed or threading.current_thread() is not threading.main_thread():
        return
    _Held.installed = True
    first_held: list[float] = []

    def held(_signum: int, _frame: Any) -> None:
        first_held.append(time.monotonic())
        if first_held[-1] - first_held[0] > GIVE_UP_S:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        # Locust's handler is gevent's (libev's own sigaction): once it is installed, this
        # Python-level handler is no longer called and the re-sent signal reaches Locust.
        gevent.spawn_later(RESEND_S, os.kill, os.getpid(), signal.SIGTERM)

    _Held.previous = signal.signal(signal.SIGTERM, held)


def release() -> None:
    """Give SIGTERM back where Locust will not handle it (`run_single_user`: no runner)."""
    if _Held.previous is not None:
        signal.signal(signal.SIGTERM, _Held.previous)
        _Held.previous = None
