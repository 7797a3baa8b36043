"""The /metrics endpoint: gevent serves the socket, a real OS thread builds the response.

Building the exposition walks every series; doing it on a native thread (gevent's threadpool)
keeps the event loop that times requests free, apart from ordinary GIL switching.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import gevent
from gevent.pywsgi import WSGIServer

from service.metrics.exposition import negotiate, render

Route = Callable[[dict], tuple[str, list[tuple[str, str]], bytes]]


class PortInUse(RuntimeError):
    """The metrics address could not be bound."""


class MetricsServer:
    def __init__(self, host: str, port: int, collector) -> None:
        self.host = host
        self.port = port
        self.collector = collector
        self.routes: dict[str, Route] = {"/metrics": self._metrics}
        self._server: WSGIServer | None = None
        self.scrapes = 0

    def start(self) -> None:
        server = WSGIServer((self.host, self.port), self._app, log=None, error_log=None)
        try:
            server.init_socket()
        except OSError as error:
            raise PortInUse(
                f"cannot serve metrics on {self.host}:{self.port}: {error.strerror or error}"
            ) from None
        server.start()
        self._server = server
        self.port = server.server_port

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=1)

    def render(self, accept: str) -> tuple[bytes, str]:
        """The exposition in the format `accept` asks for (text, or OpenMetrics)."""
        openmetrics, content_type = negotiate(accept)
        return render(self.collector.collect(), openmetrics), content_type

    def _metrics(self, environ: dict) -> tuple[str, list[tuple[str, str]], bytes]:
        accept = environ.get("HTTP_ACCEPT", "")
        body, content_type = gevent.get_hub().threadpool.apply(self.render, (accept,))
        self.scrapes += 1
        return "200 OK", [("Content-Type", content_type)], body

    def _app(self, environ: dict, start_response) -> Iterable[bytes]:
        route = self.routes.get(environ.get("PATH_INFO", ""))
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            status, headers, body = (
                "405 Method Not Allowed",
                [("Content-Type", "text/plain"), ("Allow", "GET, HEAD")],
                b"method not allowed\n",
            )
        elif route is None:
            status, headers, body = (
                "404 Not Found",
                [("Content-Type", "text/plain")],
                b"not found\n",
            )
        else:
            status, headers, body = route(environ)
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]
