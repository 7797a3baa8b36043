"""The exporter plugged into Locust: which listeners each runner gets, and the /metrics server.

standalone: records requests, serves /metrics.
worker:     records requests, ships them inside Locust's own stats report; serves nothing.
master:     merges workers' reports, serves /metrics with exact totals.
"""

from __future__ import annotations

import socket
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import gevent
import structlog

from service.metrics.collectors import ExporterInfo, LoadgenCollector
from service.metrics.request_tap import RequestTap
from service.metrics.server import MetricsServer
from service.metrics.store import MetricStore
from service.monitor.health import ProcessMonitor, WorkersHealth
from service.monitor.worker_expectation import WorkerExpectation
from service.open_model.corrected import with_corrected
from service.operation.runner_mode import RunnerMode
from service.settings.exporter_options import ExporterOptions
from service.tracing.propagation import exemplar_recorder

logger = structlog.get_logger(__name__)
PAYLOAD_KEY = "loadgen"


def _package_version() -> str:
    try:
        return version("securenet-loadgen")
    except PackageNotFoundError:
        return "unknown"


class Exporter:
    def __init__(
        self,
        environment: Any,
        options: ExporterOptions,
        mode: RunnerMode,
        open_model: bool = False,
    ) -> None:
        self.environment = environment
        self.options = options
        self.store = MetricStore(options.limits)
        runner = environment.runner
        self.mode = mode
        self.is_worker = mode is RunnerMode.WORKER
        self.is_master = mode is RunnerMode.MASTER
        self.monitor = ProcessMonitor(label="master" if self.is_master else "local")
        self.workers_health = WorkersHealth()
        self.collector = LoadgenCollector(
            self.store,
            environment,
            ExporterInfo(_package_version(), options.locustfile, options.scenario, mode),
            self.monitor.health,
            self.workers_health,
        )
        self.report_times: dict[str, float] = {}
        self.expectation: WorkerExpectation | None = None
        if self.is_master:
            expect_workers = getattr(environment.parsed_options, "expect_workers", 0) or 0
            self.expectation = WorkerExpectation(runner, expect_workers)
            self.collector.sources.append(self.expectation.families)
        self.server: MetricsServer | None = None
        self.tap = RequestTap(
            environment.events.request, runner, self.store.record_request,
            exemplar_recorder(self.store),
        )  # fmt: skip
        if open_model:
            self.enable_open_model()

    def enable_open_model(self) -> None:
        """Open mode: the arrivals' accounts, and each request's corrected duration too (a
        plain store otherwise: closed mode's hot path is unchanged). A worker learns it from
        its master, once its tap runs: the tap is re-attached with the new recording."""
        if self.store.arrivals is not None:
            return
        self.store.enable_arrivals()
        if self.is_master:
            return
        attached = self.tap.attached
        self.tap.detach()
        self.tap.record = with_corrected(self.store)
        if attached:
            self.tap.attach()

    def attach(self) -> None:
        """Register the listeners this runner needs and, unless a worker, serve /metrics."""
        events = self.environment.events
        if not self.is_master:
            self.tap.attach()
            events.user_error.add_listener(self._on_user_error)
        if self.is_worker:
            events.report_to_master.add_listener(self._ship)
        else:
            if self.is_master:
                events.worker_report.add_listener(self._merge)
                self.expectation.start()
            self.server = MetricsServer(self.options.host, self.options.port, self.collector)
            self.server.start()
        events.quit.add_listener(self._on_quit)
        self.monitor.start()

    def _on_user_error(self, user_instance: Any, exception: Any, **_kwargs: Any) -> None:
        # Locust fires it with the TaskSet that ran the task, or the user itself.
        user = getattr(user_instance, "user", user_instance)
        self.store.record_user_error(type(user).__name__, type(exception).__name__)

    def worker_label(self) -> str:
        return self.options.worker_id or (
            f"{socket.gethostname()}-{self.environment.runner.worker_index}"
        )

    def _ship(self, client_id: str, data: dict, **_kwargs: Any) -> None:
        try:
            data[PAYLOAD_KEY] = {
                "store": self.store.drain(),
                "health": self.monitor.drain(self.worker_label()),
            }
        except Exception:
            self.store.errors += 1
            logger.exception("exporter_ship_failed")

    def _merge(self, client_id: str, data: dict, **_kwargs: Any) -> None:
        payload = data.get(PAYLOAD_KEY)
        if payload is None:
            return  # a worker that does not import `service`
        if client_id not in self.environment.runner.clients:
            # A worker of a previous master, which Locust's runner discards too; it gives up
            # on its silent master and comes back registered (see master_link).
            return
        # When each worker's report arrived: what the store holds of it is as of then.
        self.report_times[client_id] = time.monotonic()
        try:
            self.store.merge(payload["store"])
            self.workers_health.absorb(
                client_id, payload["health"], self.environment.runner.clients
            )
        except Exception:
            self.store.errors += 1
            logger.exception("exporter_merge_failed", worker=client_id)

    def _on_quit(self, **_kwargs: Any) -> None:
        if self.options.final_file is not None and not self.is_worker:
            self._write_final_file()
        if self.server is not None and self.options.linger_s > 0:
            self._await_final_scrape()
        self.monitor.stop()
        if self.expectation is not None:
            self.expectation.stop()
        if self.server is not None:
            self.server.stop()

    def _write_final_file(self) -> None:
        """The last exposition; the path was checked writable at start, so a failure here
        (disk full, say) is an error of the run, never silent."""
        body, _ = self.server.render("")
        try:
            self.options.final_file.parent.mkdir(parents=True, exist_ok=True)
            self.options.final_file.write_bytes(body)
        except OSError as error:
            logger.error(
                "metrics_final_file_failed", path=str(self.options.final_file), error=str(error)
            )
            raise SystemExit(1) from None

    def _await_final_scrape(self) -> None:
        """Users have stopped: let Prometheus scrape the final totals before the port closes."""
        begun_before = self.server.scrapes_begun  # those render what preceded the stop
        deadline = time.monotonic() + self.options.linger_s
        logger.info("awaiting_final_scrape", timeout_s=self.options.linger_s)
        while self.server.latest_answered <= begun_before and time.monotonic() < deadline:
            gevent.sleep(0.1)
