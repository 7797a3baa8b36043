"""Command line: serve the sandbox API (`python -m sandbox` or `securenet-sandbox`)."""

from __future__ import annotations

import argparse
import socket
import sys

import uvicorn

from sandbox.app import create_app
from sandbox.config import ConfigError, SandboxConfig

# Idle keep-alive connections are kept this long. uvicorn's default, 5 s, falls inside the
# seed's think times (1-5 s, 2-8 s, 5-15 s): a server closing an idle connection just as its
# user reuses it is a connection error Locust counts against the run. The load balancers in
# front of real APIs keep them a minute or more.
KEEP_ALIVE_S = 75


def bind(host: str, port: int) -> socket.socket:
    """Bind before serving so a taken port is one clear error, not a server traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise SystemExit(f"sandbox: cannot listen on {host}:{port}: {error.strerror}") from None
    sock.listen(2048)
    return sock


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="securenet-sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"]
    )
    parser.add_argument(
        "--access-log",
        action="store_true",
        help="log every request as one JSON line on stdout, with its traceparent's trace id",
    )
    args = parser.parse_args(argv)
    try:
        config = SandboxConfig.from_env()
    except ConfigError as error:
        sys.exit(f"sandbox: {error}")
    sock = bind(args.host, args.port)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config, access_log=args.access_log),
            log_level=args.log_level,
            access_log=False,
            timeout_keep_alive=KEEP_ALIVE_S,
            timeout_graceful_shutdown=5,
        )
    )
    # stdout carries the access log's JSON lines alone when it is on
    print(
        f"sandbox: serving the SecureNet API on http://{args.host}:{sock.getsockname()[1]}",
        file=sys.stderr if args.access_log else sys.stdout,
        flush=True,
    )
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
