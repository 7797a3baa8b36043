"""The SecureNet load generator service: what a locustfile imports once, at the top.

Importing this package plugs the service into Locust: the Prometheus exporter (flags, the
/metrics endpoint, request metrics), load shapes, safety rails, probes, retention and
logging. The locustfiles stay user behaviour only.
"""

from locust import events

from service.auth import BearerAuth
from service.credentials import Credentials
from service.custom_values import record_threats_found, record_value
from service.exporter_options import add_arguments as add_exporter_arguments
from service.logs import configure_logging
from service.plugin import on_init
from service.service_options import add_arguments as add_service_arguments

credentials = Credentials.from_env()
configure_logging(secret_values=credentials.secret_values())
events.init_command_line_parser.add_listener(add_exporter_arguments)
events.init_command_line_parser.add_listener(add_service_arguments)
events.init.add_listener(on_init)

__all__ = ["BearerAuth", "Credentials", "credentials", "record_threats_found", "record_value"]
