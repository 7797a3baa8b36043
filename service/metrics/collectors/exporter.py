"""The families about the exporter itself: what runs, its errors, its scrape duration."""

from __future__ import annotations

import platform
from collections.abc import Iterator
from dataclasses import dataclass

import locust

from service.metrics.exposition.family import Family
from service.metrics.snapshot import stable_items
from service.metrics.store import MetricStore
from service.operation import web_auth
from service.operation.runner_mode import RunnerMode


@dataclass(frozen=True)
class ExporterInfo:
    version: str
    locustfile: str
    scenario: str
    mode: RunnerMode


def exporter_families(
    about: ExporterInfo, store: MetricStore, last_scrape_s: float
) -> Iterator[Family]:
    """What runs, the exporter's own errors, the previous scrape's duration."""
    info = Family(
        "loadgen",
        "info",
        "The load generator and what it runs.",
        ("version", "locust_version", "python_version", "locustfile", "scenario", "mode"),
    )
    info.add(
        (
            about.version,
            locust.__version__,
            platform.python_version(),
            about.locustfile,
            about.scenario,
            about.mode.value,
        ),
        1,
    )
    errors = Family(
        "loadgen_exporter_errors", "counter", "Errors caught inside the exporter's listeners."
    )
    errors.add((), store.errors)
    scrape = Family(
        "loadgen_scrape_duration_seconds",
        "gauge",
        "Time the previous scrape took to collect and render.",
    )
    scrape.add((), last_scrape_s)
    user_errors = Family(
        "loadgen_user_errors",
        "counter",
        "Exceptions raised in users' own code (a task, on_start, wait_time), by user class "
        "and exception class: the scenario's bugs, not the target's failures.",
        ("user_class", "exception"),
    )
    for (user_class, exception), count in stable_items(store.user_errors):
        user_errors.add((user_class, exception), count)
    logins = Family(
        "loadgen_web_login_refusals",
        "counter",
        "Web UI logins refused (--web-login): a wrong password, or an address still waiting "
        "after repeated failures.",
        ("reason",),
    )
    for reason in ("wrong_password", "throttled"):
        logins.add((reason,), web_auth.REFUSALS[reason])
    yield from (info, errors, scrape, user_errors, logins)
