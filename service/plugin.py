"""What importing `service` plugs into Locust at start-up, in order: settings read and
checked once, safety rails, logging, the load shape, the exporter, probes, retention and the
activity log. Bad settings end the process with one line and exit status 2, before any load."""

from __future__ import annotations

import sys
import time
from typing import Any

from locust.runners import WorkerRunner

from service import exporter as exporter_module
from service.activity_log import ActivityLog
from service.exporter import Exporter
from service.exporter_options import ExporterOptions
from service.logs import route_stdlib_logging
from service.metrics_server import PortInUse
from service.periodic import every
from service.probes import Probes
from service.retention import StatsRetention
from service.safety import check_load, check_targets
from service.service_options import ServiceOptions
from service.shapes import make_shape

RETENTION_INTERVAL_S = 10.0


def check_start(options: ServiceOptions, parsed: Any, hosts: list[str | None]) -> None:
    """The rails, before any request: allowed targets, users and spawn rate within limits.
    Also run by the CLI before it starts anything."""
    check_targets(options.allowlist, hosts)
    check_load(
        getattr(parsed, "num_users", None),
        getattr(parsed, "spawn_rate", None),
        options.max_users,
        options.max_spawn_rate,
    )


def on_init(environment: Any, **_kwargs: Any) -> None:
    """Listener of Locust's init event."""
    route_stdlib_logging()  # Locust configured stdlib logging after importing the locustfile
    parsed = environment.parsed_options
    is_worker = isinstance(environment.runner, WorkerRunner)
    try:
        options = ServiceOptions.read(parsed)
        if not is_worker:  # a worker's host and users come from its master
            hosts = [environment.host, *(u.host for u in environment.user_classes)]
            check_start(options, parsed, hosts)
        exporter = Exporter(environment, ExporterOptions.read(parsed))
        exporter.attach()
    except (PortInUse, ValueError) as error:
        print(f"securenet-loadgen: error: {error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    exporter_module.active = exporter

    retention = StatsRetention(options.history_keep, options.max_error_entries)
    every(RETENTION_INTERVAL_S, lambda: retention.trim(environment.stats, time.time()))
    if is_worker:
        return
    if options.shape:
        shape = make_shape(options.shape, options.shape_settings)
        shape.runner = environment.runner
        environment.shape_class = shape
    probes = Probes(environment, exporter.store, options.ready_window_s)
    exporter.server.routes["/healthz"] = probes.healthz
    exporter.server.routes["/readyz"] = probes.readyz
    probes.start()
    ActivityLog(
        environment, exporter.store, options.slow_request_s, options.log_interval_s
    ).attach()
