"""The target allowlist where connections are made: no request reaches a host outside it,
whatever asked for it (the web UI's host field, an absolute URL in a task, a redirect).

Both of Locust's HTTP clients keep one connection pool per host: HttpUser's requests/urllib3
and FastHttpUser's geventhttpclient. The guard sits where each creates a pool for a new host,
so it costs nothing per request; a refused host fails the request with `HostNotAllowed`
(recorded like a connection error, nothing sent), and the pool is never created.

Through a proxy a pool is the proxy's, not the target's: the proxy must be allowed, and so
must the target, checked where urllib3's ProxyManager picks a pool for a target and where
geventhttpclient's client is made for a URL with its proxy settings.
"""

from __future__ import annotations

from typing import Any

import requests
import structlog
from geventhttpclient.client import HTTPClient
from urllib3.poolmanager import PoolManager, ProxyManager

from service.operation.safety import Allowlist

logger = structlog.get_logger(__name__)


class HostNotAllowed(requests.exceptions.ConnectionError, ConnectionError):
    """A request to a host outside the allowlist, refused before any connection.

    Both a requests and a builtin connection error, so each Locust client reports it as the
    request's failure instead of raising it into the task."""

    def __init__(self, message: str) -> None:
        # No `response` attribute (FastHttpUser takes one, when present, as the response).
        OSError.__init__(self, message)
        self.request = None


class HostGuard:
    def __init__(self, allowlist: Allowlist) -> None:
        self.allowlist = allowlist
        self._originals: list[tuple[Any, str, Any]] = []
        self.refused = 0

    def check(self, host: str | None) -> None:
        if host and not self.allowlist.allows(host):
            self.refused += 1
            if self.refused == 1:
                logger.error("host_not_allowed", host=host, allowed=self.allowlist.describe())
            raise HostNotAllowed(
                f"{host} is not in the allowed hosts; nothing was sent (see --allowed-hosts)"
            )

    def install(self) -> None:
        if self._originals:
            return
        guard = self
        new_pool = PoolManager._new_pool
        from_url = HTTPClient.__dict__["from_url"]

        def guarded_new_pool(manager, scheme, host, port, request_context=None):
            guard.check(host)
            return new_pool(manager, scheme, host, port, request_context)

        proxy_connection = ProxyManager.connection_from_host

        def guarded_from_url(cls, url, **kw):
            guard.check(getattr(url, "host", None) or _host_of(str(url)))
            guard.check(kw.get("proxy_host"))
            return from_url.__func__(cls, url, **kw)

        def guarded_proxy_connection(manager, host, port=None, scheme="http", pool_kwargs=None):
            # The target behind the proxy (for http the pool is the proxy's own); requests
            # asks here for every proxied request, and only proxied ones.
            guard.check(host)
            return proxy_connection(manager, host, port, scheme, pool_kwargs)

        self._originals = [
            (PoolManager, "_new_pool", new_pool),
            (HTTPClient, "from_url", from_url),
            (ProxyManager, "connection_from_host", proxy_connection),
        ]
        PoolManager._new_pool = guarded_new_pool
        HTTPClient.from_url = classmethod(guarded_from_url)
        ProxyManager.connection_from_host = guarded_proxy_connection

    def uninstall(self) -> None:
        for owner, name, original in self._originals:
            setattr(owner, name, original)
        self._originals = []


def _host_of(url: str) -> str | None:
    return requests.utils.urlparse(url).hostname
