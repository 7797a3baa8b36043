"""A quitting master waits for each worker's final report (`operation.final_reports`)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import gevent
from locust.runners import STATE_MISSING, STATE_RUNNING

from service.operation import final_reports


class FakeMaster:
    """What MasterRunner.quit touches: stop, clients, the server, its greenlet."""

    def __init__(self, *states: str) -> None:
        self.clients = SimpleNamespace(
            all=[SimpleNamespace(id=f"w{i}", state=state) for i, state in enumerate(states)]
        )
        self.sent: list[str] = []
        self.server = SimpleNamespace(send_to_client=lambda message: self.sent.append(message.type))
        self.greenlet = gevent.spawn(gevent.sleep, 60)
        self.stopped = False

    def stop(self, send_stop_to_client: bool = True) -> None:
        self.stopped = not send_stop_to_client


def test_quit_waits_until_every_worker_has_reported_since():
    master, report_times = FakeMaster(STATE_RUNNING, STATE_RUNNING), {}
    assert final_reports.install(master, report_times)

    def reports_late() -> None:  # the second worker's final report takes 2 s
        gevent.sleep(0.2)
        report_times["w0"] = time.monotonic()
        gevent.sleep(1.8)
        report_times["w1"] = time.monotonic()

    gevent.spawn(reports_late)
    began = time.monotonic()
    master.quit()
    assert 1.9 < time.monotonic() - began < 6.0  # a busy machine stretches the sleeps
    assert master.stopped and master.sent == ["quit", "quit"] and master.greenlet.dead


def test_quit_does_not_wait_for_a_missing_worker_and_never_waits_less_than_locust():
    master, report_times = FakeMaster(STATE_RUNNING, STATE_MISSING), {}
    final_reports.install(master, report_times)
    gevent.spawn_later(0.1, lambda: report_times.update(w0=time.monotonic()))
    began = time.monotonic()
    master.quit()
    took = time.monotonic() - began
    assert final_reports.LOCUST_WAIT_S <= took < 4.0, took  # far from the 10 s a wait would take
    assert master.sent == ["quit", "quit"]  # the missing one is told too, as Locust does
