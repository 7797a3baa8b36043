"""A password on Locust's web UI (`--web-login`), for when it listens beyond loopback: one
operator account whose password comes from SECURENET_WEB_PASSWORD, through Locust's own login
page and Flask-Login."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

import structlog
from flask import Blueprint, redirect, request, session, url_for
from flask_login import UserMixin, login_user

logger = structlog.get_logger(__name__)
OPERATOR = "operator"


class Operator(UserMixin):
    id = OPERATOR


def install(web_ui: Any, password: str) -> None:
    # Sessions last as long as the process: a restart logs everyone out.
    web_ui.app.config["SECRET_KEY"] = secrets.token_hex(32)
    web_ui.login_manager.user_loader(lambda user_id: Operator() if user_id == OPERATOR else None)
    web_ui.auth_args = {"username_password_callback": "/login_submit"}
    blueprint = Blueprint("securenet_web_auth", __name__)

    @blueprint.route("/login_submit", methods=["POST"])
    def login_submit() -> Any:
        username = request.form.get("username", "")
        given = request.form.get("password", "")
        # Both compared in constant time, whatever matches first.
        right_user = hmac.compare_digest(username.encode(), OPERATOR.encode())
        right_password = hmac.compare_digest(given.encode(), password.encode())
        if right_user and right_password:
            login_user(Operator())
            return redirect(url_for("locust.index"))
        logger.warning("web_login_refused", username=username[:64])
        session["auth_error"] = "Invalid username or password"
        return redirect(url_for("locust.login"))

    web_ui.app.register_blueprint(blueprint)
