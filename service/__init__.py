"""The SecureNet load generator service: what a locustfile imports once, at the top.

Importing this package plugs the service into Locust: the Prometheus exporter (flags, the
/metrics endpoint, request metrics), load shapes, safety rails, probes, retention and
logging. The locustfiles stay user behaviour only.
"""

from functools import partial

from locust import events

from service.auth import BearerAuth
from service.credentials import Credentials
from service.custom_values import record_threats_found, record_value
from service.logs import configure_logging
from service.plugin import on_init
from service.preflight import install as install_preflight

credentials = Credentials.from_env()
configure_logging(secret_values=credentials.secret_values())
events.init_command_line_parser.add_listener(partial(install_preflight, credentials=credentials))
events.init.add_listener(partial(on_init, credentials=credentials))

__all__ = ["BearerAuth", "Credentials", "credentials", "record_threats_found", "record_value"]
