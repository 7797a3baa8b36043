"""A password on Locust's web UI (`--web-login`), for when it listens beyond loopback: one
operator account whose password comes from SECURENET_WEB_PASSWORD, through Locust's own login
page and Flask-Login. Guessing is throttled per client address: after a few failures each
attempt must wait twice as long as the one before, and is refused (429) until then."""

from __future__ import annotations

import hmac
import secrets
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import structlog
from flask import Blueprint, Response, redirect, request, session, url_for
from flask_login import UserMixin, login_user

logger = structlog.get_logger(__name__)
OPERATOR = "operator"


# Failures a client address may make before each further attempt waits: 1 s, 2 s, 4 s, ...
FREE_FAILURES = 5
MAX_WAIT_S = 300.0
MAX_ADDRESSES = 10_000  # tracked at once; the oldest is forgotten first
# Refused logins by reason (wrong_password, throttled): loadgen_web_login_refusals_total.
REFUSALS: Counter[str] = Counter()


class Operator(UserMixin):
    id = OPERATOR


class LoginThrottle:
    """Failed logins per client address, and until when each must wait."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.failures: dict[str, tuple[int, float]] = {}  # address -> (failures, wait until)

    def wait_s(self, address: str) -> float:
        """How long this address must still wait before its next attempt counts."""
        _, until = self.failures.get(address, (0, 0.0))
        return max(0.0, until - self.clock())

    def failed(self, address: str) -> None:
        count, _ = self.failures.pop(address, (0, 0.0))
        count += 1
        wait = min(MAX_WAIT_S, 2.0 ** (count - FREE_FAILURES)) if count >= FREE_FAILURES else 0.0
        if len(self.failures) >= MAX_ADDRESSES:
            del self.failures[next(iter(self.failures))]
        self.failures[address] = (count, self.clock() + wait)

    def succeeded(self, address: str) -> None:
        self.failures.pop(address, None)


def install(web_ui: Any, password: str) -> None:
    # Sessions last as long as the process: a restart logs everyone out.
    web_ui.app.config["SECRET_KEY"] = secrets.token_hex(32)
    web_ui.login_manager.user_loader(lambda user_id: Operator() if user_id == OPERATOR else None)
    web_ui.auth_args = {"username_password_callback": "/login_submit"}
    blueprint = Blueprint("securenet_web_auth", __name__)
    throttle = LoginThrottle()

    @blueprint.route("/login_submit", methods=["POST"])
    def login_submit() -> Any:
        address = request.remote_addr or "unknown"
        wait_s = throttle.wait_s(address)
        if wait_s > 0:
            REFUSALS["throttled"] += 1  # counted, not logged: the wait's start was
            return Response(
                "too many failed logins: wait and try again\n",
                status=429,
                headers={"Retry-After": str(max(1, round(wait_s)))},
                mimetype="text/plain",
            )
        username = request.form.get("username", "")
        given = request.form.get("password", "")
        # Both compared in constant time, whatever matches first.
        right_user = hmac.compare_digest(username.encode(), OPERATOR.encode())
        right_password = hmac.compare_digest(given.encode(), password.encode())
        if right_user and right_password:
            throttle.succeeded(address)
            login_user(Operator())
            return redirect(url_for("locust.index"))
        throttle.failed(address)
        REFUSALS["wrong_password"] += 1
        logger.warning("web_login_refused", username=username[:64], client=address)
        if throttle.wait_s(address) > 0:
            # One line per wait: the attempts refused during it are only counted.
            failures, _ = throttle.failures[address]
            logger.warning(
                "web_login_throttled",
                client=address,
                failures=failures,
                wait_s=round(throttle.wait_s(address)),
            )
        session["auth_error"] = "Invalid username or password"
        return redirect(url_for("locust.login"))

    web_ui.app.register_blueprint(blueprint)
