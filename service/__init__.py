"""The SecureNet load generator service: what a locustfile imports once, at the top.

Importing this package is what plugs the service into Locust (metrics, logging); the
locustfiles themselves stay user behaviour only.
"""

from service.auth import BearerAuth
from service.credentials import Credentials
from service.logs import configure_logging

configure_logging()
credentials = Credentials.from_env()

__all__ = ["BearerAuth", "Credentials", "credentials"]
