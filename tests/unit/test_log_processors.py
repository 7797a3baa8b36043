"""The logging pipeline's processors: redaction and rate limiting."""

import pytest
from structlog import DropEvent

from service.logs.rate_limit import RateLimiter
from service.logs.redaction import REDACTED, Redactor


def test_secret_keys_are_redacted_whatever_their_value():
    redact = Redactor()
    event = redact(
        None,
        "info",
        {
            "event": "login",
            "password": "hunter22",
            "api_key": "k",
            "Authorization": "x",
            "user": "u",
        },
    )
    assert event == {
        "event": "login",
        "password": REDACTED,
        "api_key": REDACTED,
        "Authorization": REDACTED,
        "user": "u",
    }


def test_known_secret_values_and_bearer_tokens_are_scrubbed_from_messages():
    redact = Redactor(["s3cret-value", "abc"])  # too short to scrub safely: "abc"
    event = redact(
        None,
        "error",
        {
            "event": "failed: password=s3cret-value headers={'Authorization': 'Bearer eyJ.a.b'}",
            "detail": "token: tok123, see abc",
        },
    )
    assert "s3cret-value" not in event["event"]
    assert "eyJ.a.b" not in event["event"]
    assert "tok123" not in event["detail"]
    assert "see abc" in event["detail"]


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def test_rate_limiter_passes_a_burst_per_kind_then_reports_what_it_dropped():
    clock = Clock()
    limit = RateLimiter(burst=3, interval_s=10.0, clock=clock)
    passed = dropped = 0
    for _ in range(1000):
        try:
            limit(None, "error", {"event": "boom", "level": "error"})
            passed += 1
        except DropEvent:
            dropped += 1
    assert (passed, dropped) == (3, 997)
    # another kind is not held back by the storm
    assert limit(None, "info", {"event": "other", "level": "info"})["event"] == "other"
    clock.now = 10.0
    event = limit(None, "error", {"event": "boom", "level": "error"})
    assert event["suppressed"] == 997


def test_aggregated_lines_are_never_rate_limited():
    limit = RateLimiter(burst=1, interval_s=10.0, clock=Clock())
    for _ in range(50):
        event = limit(None, "warning", {"event": "request_failures", "aggregated": True})
        assert "aggregated" not in event


def test_rate_limiter_keys_stdlib_records_by_their_template_not_their_text():
    import logging

    limit = RateLimiter(burst=2, interval_s=10.0, clock=Clock())
    outcomes = []
    for i in range(5):
        record = logging.LogRecord("locust.user", logging.ERROR, "f", 1, "failed %s", (i,), None)
        try:
            limit(None, "error", {"event": record.getMessage(), "_record": record})
            outcomes.append(True)
        except DropEvent:
            outcomes.append(False)
    assert outcomes == [True, True, False, False, False]


@pytest.mark.parametrize("key", ["token", "admin_password", "X-API-Key", "cookie"])
def test_redaction_covers_the_usual_secret_names(key):
    assert Redactor()(None, "info", {"event": "e", key: "v"})[key] == REDACTED


def test_a_dropped_line_never_raises_into_the_code_that_logged_it():
    import io
    import json
    import logging

    import structlog

    from service.logs.pipeline import configure_logging

    stream = io.StringIO()
    configure_logging(stream=stream)
    try:
        for n in range(200):  # far past the burst, from a stdlib logger and from structlog
            logging.getLogger("locust.main").info("Waiting for workers, %s of 2", n)
            structlog.get_logger("securenet.test").warning("storm", n=n)
    finally:
        configure_logging()  # back to stderr for the rest of the session
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert 0 < len(lines) <= 20  # rate-limited, every line one JSON object
