"""Benchmark locustfile: the exporter's request listener alternates on and off every 0.5 s in
one process, so machine noise falls on both sides alike. Reports CPU per request per phase."""

import itertools
import json
import os
import resource

import gevent
from locust import events
from overhead_users import SaturatingUser, settings  # noqa: F401

import service  # noqa: F401 - the exporter under test
from service import exporter

settings["report_whole_run"] = False
PHASE_S = 0.5
WARM_UP_S = 4.0
_phases = {"on": [0.0, 0], "off": [0.0, 0]}


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _alternate(environment):
    listener = exporter.active.store.record_request
    gevent.sleep(WARM_UP_S)  # connections opened, caches warm: not part of either phase
    # ABBA order: on, off, off, on, ... so that any drift over the run falls on both alike.
    for listening in itertools.cycle((True, False, False, True)):
        if listening and listener not in environment.events.request._handlers:
            environment.events.request.add_listener(listener)
        if not listening and listener in environment.events.request._handlers:
            environment.events.request.remove_listener(listener)
        cpu, requests = _cpu_s(), environment.stats.total.num_requests
        gevent.sleep(PHASE_S)
        phase = _phases["on" if listening else "off"]
        phase[0] += _cpu_s() - cpu
        phase[1] += environment.stats.total.num_requests - requests


@events.spawning_complete.add_listener
def _start(**_kwargs):
    gevent.spawn(_alternate, exporter.active.environment)


@events.test_stop.add_listener
def _report(**_kwargs):
    with open(os.environ["BENCH_REPORT"], "w") as file:
        json.dump({name: {"cpu_s": cpu, "requests": n} for name, (cpu, n) in _phases.items()}, file)
