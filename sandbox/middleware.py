"""ASGI middleware: request body size limit and fault injection, both ahead of routing."""

from __future__ import annotations

import json
import time

from sandbox.faults import GARBAGE, FaultBoard

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


async def _send_json(send, status: int, body: dict) -> None:
    await _send(send, status, json.dumps(body).encode())


async def _send(send, status: int, payload: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class StatusSeen:
    """A response's `send`, remembering the status it started with (500 until then: the app
    failed before it answered) and when its last byte was handed on.

    A server's time ends at that hand-off, not when the app returns: on a busy event loop the
    app may resume long after, and the time would then exceed what the client measured."""

    def __init__(self, send) -> None:
        self.send = send
        self.status = 500
        self.answered: float | None = None

    async def __call__(self, message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.answered = time.perf_counter()
        await self.send(message)

    def seconds_since(self, started: float) -> float:
        """The server's time for the request: until the answer was handed on (or now)."""
        return (self.answered or time.perf_counter()) - started


class AnsweredRequests:
    """Base of the middlewares that note every HTTP request once it is answered (or its app
    failed): `answered` gets the status and the server's time (see StatusSeen)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen = StatusSeen(send)
        started, received_at = time.perf_counter(), time.time()
        try:
            await self.app(scope, receive, seen)
        finally:
            self.answered(scope, seen.status, seen.seconds_since(started), received_at)

    def answered(self, scope, status: int, seconds: float, received_at: float) -> None:
        raise NotImplementedError


class BodyLimit:
    """Answer 413 to bodies over `max_bytes`, whether announced by Content-Length or streamed.

    The body is buffered (it is bounded by the limit) so an oversized stream is refused
    before the application sees any of it.
    """

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        too_large = {"detail": f"request body exceeds {self.max_bytes} bytes"}
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _send_json(send, 413, too_large)
                return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _send_json(send, 413, too_large)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class FaultInjection:
    """Apply the fault board's rule for the request path; the control plane is exempt."""

    def __init__(self, app, board: FaultBoard, exempt_prefix: str) -> None:
        self.app = app
        self.board = board
        self.exempt_prefix = exempt_prefix

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(self.exempt_prefix):
            rule = self.board.match(scope["path"])
            if rule is not None:
                status = await self.board.apply(rule)
                if status == GARBAGE:
                    # Says JSON, is not: what a broken proxy or a bad deploy sends.
                    await _send(send, GARBAGE, b"<html><body>502 Bad Gateway</body></html>\xff")
                    return
                if status is not None:
                    await _send_json(
                        send, status, {"detail": "injected fault", "path_prefix": rule.path_prefix}
                    )
                    return
        await self.app(scope, receive, send)


VERSION_HEADER = b"x-build-version"


class BuildVersion:
    """Every response names the build that answered it (`X-Build-Version`), as many real
    APIs do: the version is read per response, so a change through the control plane shows
    at once."""

    def __init__(self, app, state) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_version(message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    *message.get("headers", []),
                    (VERSION_HEADER, self.state.version.encode()),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_version)
