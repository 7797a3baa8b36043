"""What `service.plugin` plugs into Locust at start-up, in order: the settings (typed and
checked by `preflight` when Locust parses them), safety rails, logging, the load shape, the
exporter, probes, retention and the activity log. Bad settings end the process with one line
and exit status 2, before any load."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import structlog
from locust import LoadTestShape
from locust.event import EventHook
from locust.runners import STATE_RUNNING, STATE_SPAWNING

from service.capacity import model as capacity_model
from service.capacity.shape import CapacityShape
from service.logs.activity import ActivityLog
from service.logs.pipeline import route_stdlib_logging
from service.logs.redaction import scrub_url_credentials
from service.metrics.custom_values import CustomValues
from service.metrics.exporter import Exporter
from service.metrics.server import PortInUse
from service.open_model.controller import OpenModel
from service.operation import early_sigterm, final_reports, web_auth, web_form
from service.operation.host_guard import HostGuard
from service.operation.master_link import MasterLink
from service.operation.periodic import every
from service.operation.probes import Probes
from service.operation.retention import StatsRetention
from service.operation.runner_mode import RunnerMode
from service.operation.safety import cap_runner
from service.operation.shapes import make_shape
from service.operation.target_build import TargetBuild
from service.settings.credentials import Credentials
from service.settings.preflight import check_user_hosts, one_line_error
from service.settings.service_options import ServiceOptions
from service.settings.settings import Settings
from service.tracing import propagation
from service.tracing.trace_ids import TraceIds

logger = structlog.get_logger(__name__)
RETENTION_INTERVAL_S = 10.0


def on_init(
    environment: Any,
    credentials: Credentials,
    custom_values: CustomValues,
    exporter_started: EventHook,
    web_ui: Any = None,
    **_kwargs: Any,
) -> None:
    """Listener of Locust's init event (bound by `service.plugin` to what it holds: the
    credentials, the scenarios' custom-value API and the exporter_started hook)."""
    route_stdlib_logging()  # again, in case a config turned Locust's own log set-up back on
    parsed = environment.parsed_options
    runner = environment.runner
    if runner is None:
        early_sigterm.release()
    mode = RunnerMode.of(runner)
    is_worker = mode is RunnerMode.WORKER
    try:
        settings = Settings.read(parsed)
        options = capacity_model.resolve(settings.service, environment.user_classes)
        if not is_worker:  # a worker's host and users come from its master
            check_user_hosts(settings, environment)
        exporter = Exporter(
            environment, settings.exporter, mode, open_model=options.arrivals is not None
        )
        exporter.attach()
    except (PortInUse, ValueError) as error:
        one_line_error(str(error))
    custom_values.connect(exporter.store)
    exporter_started.fire(exporter=exporter)

    if mode.sends_requests:
        HostGuard(options.allowlist).install()
        if settings.exporter.trace_context:
            try:
                propagation.install(TraceIds(settings.exporter.trace_sample_ratio))
            except ValueError as error:
                one_line_error(str(error))
    retention = StatsRetention(options.history_keep, options.max_error_entries)
    every(RETENTION_INTERVAL_S, lambda: retention.trim(environment.stats, time.time()))
    if is_worker:
        MasterLink(environment, options.master_heartbeat_timeout_s).attach()
        follow_open_model(environment, exporter)
        return
    if mode is RunnerMode.MASTER:
        final_reports.install(runner, exporter.report_times)
    cap_runner(runner, options.max_users, options.max_spawn_rate)
    if web_ui is not None and getattr(parsed, "web_login", False):
        web_auth.install(web_ui, credentials.web_password)
    if web_ui is not None:
        web_form.install(
            web_ui, environment, options.allowlist, options.max_users, options.max_spawn_rate,
            user_settings=getattr(parsed, "web_user_settings", "off") == "on",
        )  # fmt: skip
    environment.events.quit.add_listener(lambda **_: scrub_report(parsed))
    shape = load_shape(options, exporter)
    if shape is not None:
        shape.runner = runner
        environment.shape_class = shape
    if options.arrivals is not None:
        # A shape with a level moves the rate (a named one between its trough and peak, the
        # capacity search step by step); otherwise the rate is --arrival-rate.
        level = getattr(shape, "level", lambda: 1.0)
        open_model = OpenModel(environment, options.arrivals, exporter.store, mode, level)
        open_model.attach()
        exporter.collector.sources.append(open_model.families)
    if options.target_build.configured:
        target_build = TargetBuild(options.target_build, lambda: environment.host)
        exporter.collector.sources.append(target_build.families)
        target_build.start()
    probes = Probes(environment, exporter.store, options.ready_window_s)
    exporter.server.routes["/healthz"] = probes.healthz
    exporter.server.routes["/readyz"] = probes.readyz
    probes.start()
    ActivityLog(
        environment, exporter.store, options.slow_request_s, options.log_interval_s, mode
    ).attach()


def follow_open_model(environment: Any, exporter: Exporter) -> None:
    """A worker runs open when its master does: the master's settings arrive with its first
    spawn message, just before the users start (Locust's test_start on the worker). Locust
    registers a worker with its master before the init listeners run, so on a loaded machine
    that spawn can come first (while an init listener yields): the worker then follows at once,
    its users already running (they take the open loop at their next task)."""

    following: list[OpenModel] = []

    def on_test_start(**_kwargs: Any) -> None:
        if following:
            return  # open already (a later test of the same run)
        try:
            master = Settings.read(environment.parsed_options).service
            arrivals = capacity_model.resolve(master, environment.user_classes).arrivals
        except ValueError as error:
            logger.error("master_settings_invalid", error=str(error))
            return
        if arrivals is not None:
            exporter.enable_open_model()
            following.append(OpenModel(environment, arrivals, exporter.store, RunnerMode.WORKER))
            following[0].attach()

    environment.events.test_start.add_listener(on_test_start)
    if environment.runner.worker_state in (STATE_SPAWNING, STATE_RUNNING):
        on_test_start()


def load_shape(options: ServiceOptions, exporter: Exporter) -> LoadTestShape | None:
    """The capacity search, a named shape, or none (Locust's users and spawn rate)."""
    if options.capacity is not None:
        plan = options.capacity
        logger.info("capacity_model", model=plan.model, why=plan.model_reason)
        return CapacityShape(plan, exporter.store, exporter)
    if options.shape:
        return make_shape(options.shape, options.shape_settings)
    return None


def scrub_report(parsed: Any) -> None:
    """Locust's HTML report shows the host as given: take out a password inside it."""
    path = Path(getattr(parsed, "html_file", None) or "")
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        scrubbed = scrub_url_credentials(text)
        if scrubbed != text:
            path.write_text(scrubbed, encoding="utf-8")
