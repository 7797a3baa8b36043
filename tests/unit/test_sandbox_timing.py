"""The sandbox's server time ends when the answer is handed on, so it never exceeds what a
client measured for the same request, however late the app resumes afterwards."""

import asyncio

import pytest

from sandbox.traces import TracedRequests, TraceRecorder

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


async def _answers_then_lingers(scope, receive, send) -> None:
    await asyncio.sleep(0.05)
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})
    await asyncio.sleep(0.3)  # what a busy event loop does to the app after it has answered


def _traced_request() -> dict:
    header = f"00-{TRACE_ID}-00f067aa0ba902b7-01".encode()
    return {
        "type": "http",
        "method": "GET",
        "path": "/api/x",
        "headers": [(b"traceparent", header)],
    }


def test_the_recorded_time_stops_at_the_last_byte_handed_on_not_when_the_app_returns():
    traced = TracedRequests()
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    recorder = TraceRecorder(_answers_then_lingers, traced)
    asyncio.run(recorder(_traced_request(), receive, send))
    record = traced.get(TRACE_ID)
    assert record is not None and record["status"] == 201 and len(sent) == 2
    assert 0.05 <= record["duration_seconds"] < 0.3, record


async def _fails_before_answering(scope, receive, send) -> None:
    await asyncio.sleep(0.05)
    raise RuntimeError("no answer")


def test_an_app_that_never_answers_is_timed_until_it_gave_up():
    traced = TracedRequests()

    async def send(message: dict) -> None:
        raise AssertionError("nothing is sent")

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    recorder = TraceRecorder(_fails_before_answering, traced)
    with pytest.raises(RuntimeError):
        asyncio.run(recorder(_traced_request(), receive, send))
    record = traced.get(TRACE_ID)
    assert record is not None and record["status"] == 500
    assert record["duration_seconds"] >= 0.05, record
