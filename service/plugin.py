"""The Locust plugin: importing this module plugs the service into Locust (the one import a
locustfile needs, `from service.plugin import BearerAuth, credentials`).

It adds the service's settings and their preflight to Locust's parser and wires the exporter,
load shape, safety rails, probes, retention and logging on Locust's init (see
`operation.lifecycle`). Nothing else in the package registers a listener when imported: the
CLI, the alert receiver, `compare` and the benchmarks import their modules without it.
"""

from functools import partial
from typing import Any

from locust import events
from locust.event import EventHook

from service.auth import BearerAuth
from service.logs import hub_errors
from service.logs.pipeline import configure_logging
from service.metrics.custom_values import CustomValues
from service.operation import early_sigterm, spawn_message_cost
from service.operation.lifecycle import on_init
from service.settings.credentials import Credentials
from service.settings.preflight import install as install_preflight

credentials = Credentials.from_env()
custom_values = CustomValues()
record_value = custom_values.record_value
record_threats_found = custom_values.record_threats_found
# Fired with `exporter=` once the exporter of this process runs: the seam for benchmarks and
# extensions that need it (its store, tap and monitor).
exporter_started = EventHook()

configure_logging(secret_values=credentials.secret_values())
hub_errors.install()  # a failed greenlet's traceback is a JSON line too
spawn_message_cost.install()  # a worker's spawn message: one argument parser, not 108


def on_command_line_parser(parser: Any, **kwargs: Any) -> None:
    """Listener of Locust's init_command_line_parser: our settings and their preflight.
    Locust builds its parser before its runner registers with a master: from here until
    Locust's own handler is installed, a SIGTERM is held instead of killing the process
    without a goodbye."""
    early_sigterm.hold()
    install_preflight(parser, credentials=credentials, **kwargs)


events.init_command_line_parser.add_listener(on_command_line_parser)
events.init.add_listener(
    partial(
        on_init,
        credentials=credentials,
        custom_values=custom_values,
        exporter_started=exporter_started,
    )
)

__all__ = [
    "BearerAuth",
    "Credentials",
    "credentials",
    "exporter_started",
    "record_threats_found",
    "record_value",
]
