"""Benchmark locustfile: the exporter switches on and off in one saturated process, so machine
noise falls on both sides alike. Reports the CPU and requests of every on/off pair.

"On" is the request tap (in place of Locust's stats listener), the health monitor's greenlet
and, unless BENCH_TRACE=0, trace context (a traceparent on every request, sampled at the
default ratio); "off" is Locust's own listener alone. Each pair runs its two phases in a random
order and for a random length around PHASE_S, so periodic work (Locust's and the exporter's
jobs every 1-10 s, scrapes) lands on both sides alike instead of always in the same phase. CPU
is the main thread's, where gevent runs users, listeners and the monitor.
"""

import json
import os
import random
import time

import gevent
from locust import events
from overhead_users import SaturatingUser  # noqa: F401

from service.plugin import exporter_started
from service.tracing import propagation
from service.tracing.trace_ids import TraceIds

WARM_UP_S = 4.0
PHASE_S = float(os.environ.get("BENCH_PHASE_S", "0.25"))
TRACE = os.environ.get("BENCH_TRACE", "1") != "0"
_trace_ids = TraceIds(0.01)
_pairs: list[dict] = []


def _phase(environment, seconds: float) -> tuple[float, int]:
    cpu, requests = time.thread_time(), environment.stats.total.num_requests
    gevent.sleep(seconds)
    return time.thread_time() - cpu, environment.stats.total.num_requests - requests


def _switch(on: bool) -> None:
    tap, monitor = _exporter_under_test[0].tap, _exporter_under_test[0].monitor
    propagation.uninstall()  # the plugin installed it at start: off unless this phase is on
    if on:
        tap.attach()
        if TRACE:
            propagation.install(_trace_ids)
        # The monitor's loop without start()'s psutil baselines, which would be counted anew
        # every phase.
        monitor.resume()
    else:
        tap.detach()
        monitor.stop()


def _alternate(environment):
    gevent.sleep(WARM_UP_S)  # connections opened, caches warm: not part of either phase
    while True:
        pair = {}
        for on in random.sample((True, False), 2):
            _switch(on)
            seconds = random.uniform(PHASE_S * 0.8, PHASE_S * 1.2)
            pair["on" if on else "off"] = _phase(environment, seconds)
        _pairs.append(pair)


_exporter_under_test: list = []


@exporter_started.add_listener
def _keep(exporter, **_kwargs):
    _exporter_under_test.append(exporter)


@events.spawning_complete.add_listener
def _start(**_kwargs):
    gevent.spawn(_alternate, _exporter_under_test[0].environment)


@events.test_stop.add_listener
def _report(**_kwargs):
    with open(os.environ["BENCH_REPORT"], "w") as file:
        json.dump(_pairs, file)
