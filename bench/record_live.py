"""Benchmark locustfile: how long the store's `record_request` takes inside a saturated Locust
process, where its data and code are cold between requests (a warm loop says far less).

Every 0.2 s the tap's recording is swapped between the real one and a no-op, both behind the
same timing wrapper; the difference of their mean times is the recording's own cost.
"""

import json
import os
import time

import gevent
from locust import events
from overhead_users import SaturatingUser  # noqa: F401

from service.plugin import exporter_started

WARM_UP_S = 3.0
_timed = {"record": [0, 0], "noop": [0, 0]}


def _noop(request_type, name, response_time, response_length, exception, response):
    pass


def _timing(record, totals):
    clock = time.perf_counter_ns

    def timed(request_type, name, response_time, response_length, exception, response):
        started = clock()
        record(request_type, name, response_time, response_length, exception, response)
        totals[0] += clock() - started
        totals[1] += 1

    return timed


def _alternate(tap):
    record = tap.record
    gevent.sleep(WARM_UP_S)
    while True:
        for kind, function in (("record", record), ("noop", _noop)):
            tap.detach()
            tap.record = _timing(function, _timed[kind])
            tap.attach()
            gevent.sleep(0.2)


_exporter_under_test: list = []


@exporter_started.add_listener
def _keep(exporter, **_kwargs):
    _exporter_under_test.append(exporter)


@events.spawning_complete.add_listener
def _start(**_kwargs):
    gevent.spawn(_alternate, _exporter_under_test[0].tap)


@events.test_stop.add_listener
def _report(**_kwargs):
    with open(os.environ["BENCH_REPORT"], "w") as file:
        json.dump({kind: ns / max(calls, 1) / 1000 for kind, (ns, calls) in _timed.items()}, file)
