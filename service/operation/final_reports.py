"""A master that quits waits for its workers' final reports, not half a second.

Locust's master quits by sending each worker "quit" and sleeping 0.5 s for their final stats
reports before it stops listening. A worker answers by stopping its users and then sending
that report; on a busy machine that takes longer, and whatever the report carried (the last
seconds of requests, an open-mode worker's last arrivals) never reaches the master's totals
or its final file. So, as the request tap does with Locust's stats listener, the master's
`quit` is re-implemented where Locust's body is the one copied (the names it uses are
checked): the same steps, waiting until every worker it asked has reported since (at most
FINAL_REPORT_WAIT_S), never less than Locust's half second.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import gevent
from locust.rpc import Message
from locust.runners import STATE_MISSING, MasterRunner

# The names Locust 2.x's MasterRunner.quit uses (`co_names`): the body copied below.
QUIT_NAMES = (
    "stop", "logger", "debug", "clients", "all", "id", "get_worker_index", "server",
    "send_to_client", "Message", "gevent", "sleep", "greenlet", "kill",
)  # fmt: skip
FINAL_REPORT_WAIT_S = 10.0
LOCUST_WAIT_S = 0.5


def install(runner: Any, report_times: Mapping[str, float]) -> bool:
    """Make `runner` (a master) wait for final reports on quit; False where its quit is not
    the one this copies (it then keeps Locust's half second). `report_times`: when each
    worker's report last arrived (monotonic), kept by the exporter."""
    if MasterRunner.quit.__code__.co_names != QUIT_NAMES:
        return False

    def quit() -> None:
        runner.stop(send_stop_to_client=False)
        asked = time.monotonic()
        for client in runner.clients.all:
            runner.server.send_to_client(Message("quit", None, client.id))
        # A worker that is gone sends nothing: only those still there are waited for.
        workers = [client.id for client in runner.clients.all if client.state != STATE_MISSING]
        gevent.sleep(LOCUST_WAIT_S)
        deadline = asked + FINAL_REPORT_WAIT_S
        while time.monotonic() < deadline and any(
            report_times.get(worker, 0.0) < asked for worker in workers
        ):
            gevent.sleep(0.05)
        runner.greenlet.kill(block=True)

    runner.quit = quit
    return True
