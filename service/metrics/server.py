"""The /metrics endpoint: gevent serves the socket, a real OS thread builds the response.

Building the exposition walks every series; doing it on a native thread keeps the event loop
that times requests free, apart from ordinary GIL switching. One thread, so concurrent scrapes
(an HA pair of Prometheus servers) take turns instead of competing for the GIL, and the
protobuf encoder's messages are only ever touched by one scrape at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from gevent.pywsgi import WSGIServer
from gevent.threadpool import ThreadPool

from service.metrics.exposition.compression import gzip_chunks
from service.metrics.exposition.negotiation import Format, accepts_gzip, choose_format
from service.metrics.exposition.protobuf import ProtobufEncoder
from service.metrics.exposition.text import render_chunks

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
        self._pool: ThreadPool | None = None
        self._protobuf = ProtobufEncoder()
        # Scrapes are numbered as they begin; `latest_answered` is the number of the latest
        # one answered. "A scrape after X" means one that began after X: a scrape under way
        # at X renders what the store held before it.
        self.scrapes_begun = 0
        self.latest_answered = 0

    def start(self) -> None:
        server = WSGIServer((self.host, self.port), self._app, log=None, error_log=None)
        try:
            server.init_socket()
        except OSError as error:
            raise PortInUse(
                f"cannot serve metrics on {self.host}:{self.port}: {error.strerror or error}"
            ) from None
        self._pool = ThreadPool(1)
        server.start()
        self._server = server
        self.port = server.server_port

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=1)
        if self._pool is not None:
            self._pool.kill()

    def render(self, accept: str, accept_encoding: str = "") -> tuple[bytes, list[tuple]]:
        """The exposition in the format `accept` asks for, gzipped if `accept_encoding` allows,
        with its headers."""
        chosen = choose_format(accept)
        families = self.collector.collect()
        if chosen is Format.PROTOBUF:
            chunks = self._protobuf.encode_chunks(families)
        else:
            chunks = render_chunks(families, openmetrics=chosen is Format.OPENMETRICS)
        headers = [("Content-Type", chosen.content_type), ("Vary", "Accept, Accept-Encoding")]
        if accepts_gzip(accept_encoding):
            headers.append(("Content-Encoding", "gzip"))
            return gzip_chunks(chunks), headers
        return b"".join(chunks), headers

    def _metrics(self, environ: dict) -> tuple[str, list[tuple[str, str]], bytes]:
        request = (environ.get("HTTP_ACCEPT", ""), environ.get("HTTP_ACCEPT_ENCODING", ""))
        self.scrapes_begun += 1
        number = self.scrapes_begun
        if self._pool is None:  # not started: a test calling the route directly
            body, headers = self.render(*request)
        else:
            body, headers = self._pool.apply(self.render, request)
        self.latest_answered = max(self.latest_answered, number)
        return "200 OK", headers, body

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
