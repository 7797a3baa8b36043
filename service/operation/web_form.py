"""What the web UI may change. Locust's swarm form copies every field it is sent into the parsed
options (`html_file=/some/path` moves the report; a bad value fails after the fields before it
were applied), and `POST /user` rewrites a user class's settings from JSON. Here the swarm
form may change only what an operator is meant to change (users, spawn rate, host, user
classes, shape class, run time, and the locustfile's own web UI arguments), each checked by the
command line's types and rails before anything is applied: one line, HTTP 400, nothing changed.
`POST /user` is refused unless `--web-user-settings on`."""

from __future__ import annotations

from argparse import ArgumentTypeError
from typing import Any

import structlog
from flask import jsonify, request
from flask_login import current_user
from locust.util.timespan import parse_timespan

from service.operation.safety import Allowlist, SafetyError, check_load, check_targets
from service.operation.targets import TargetError, parse_host
from service.settings.types import Number, count

logger = structlog.get_logger(__name__)

# The swarm form's own fields, and the command line's types for its numbers.
SWARM_FIELDS = frozenset(
    {"user_count", "spawn_rate", "host", "user_classes", "shape_class", "run_time", "profile"}
)
USER_COUNT = count()
SPAWN_RATE = Number(float, 0, 100_000, above=True)


def _refused(message: str, status: int = 400) -> Any:
    logger.warning("web_form_refused", path=request.path, reason=message)
    answer = jsonify({"success": False, "message": message})
    answer.status_code = status
    return answer


def _typed(form: Any, field: str, kind: Number) -> Any:
    if field not in form:
        return None
    try:
        return kind(form[field])
    except ArgumentTypeError as error:
        raise ValueError(f"{field}: {error}") from None


def _named(form: Any, field: str, known: set[str], what: str) -> None:
    for name in form.getlist(field):
        if name not in known:
            raise ValueError(f"{field}: no {what} {name!r} (known: {', '.join(sorted(known))})")


def check_swarm_form(
    form: Any,
    allowed: set[str] | frozenset[str],
    allowlist: Allowlist,
    max_users: int,
    max_rate: float,
    environment: Any = None,
) -> None:
    """ValueError naming the first field that may not be sent, or whose value is bad."""
    for field in form:
        if field not in allowed:
            raise ValueError(f"field {field!r} cannot be changed from the web UI")
    if environment is not None:
        users = getattr(environment, "available_user_classes", None) or {
            user.__name__: user for user in environment.user_classes
        }
        _named(form, "user_classes", set(users), "user class")
        shapes = {"Default", *(getattr(environment, "available_shape_classes", None) or {})}
        _named(form, "shape_class", shapes, "shape class")
    if "host" in form and not form["host"].strip():
        raise ValueError("host: empty (give the target's base URL)")
    users = _typed(form, "user_count", USER_COUNT)
    rate = _typed(form, "spawn_rate", SPAWN_RATE)
    check_load(users, rate, max_users, max_rate)
    host = form.get("host", "")
    if host:
        parse_host(host)
        check_targets(allowlist, [host])
    if form.get("run_time"):
        try:
            parse_timespan(form["run_time"])
        except ValueError:
            raise ValueError(f"run_time: not a time span: {form['run_time']!r}") from None


def install(
    web_ui: Any,
    environment: Any,
    allowlist: Allowlist,
    max_users: int,
    max_rate: float,
    user_settings: bool,
) -> None:
    """Checks every POST to the swarm and user routes before Locust's own handlers run."""

    @web_ui.app.before_request
    def check_changes() -> Any:
        if request.method != "POST":
            return None
        if getattr(web_ui, "web_login", False) and not current_user.is_authenticated:
            return None  # Locust's login check refuses it, saying nothing about the form
        if request.path == "/user" and not user_settings:
            return _refused(
                "changing user classes' settings from the web UI is off "
                "(start with --web-user-settings on to allow it)",
                status=403,
            )
        if request.path != "/swarm":
            return None
        # The locustfile's own arguments shown in the form (include_in_web_ui).
        extra = (getattr(web_ui, "template_args", None) or {}).get("extra_options") or {}
        allowed = SWARM_FIELDS | set(extra)
        try:
            check_swarm_form(request.form, allowed, allowlist, max_users, max_rate, environment)
        except (ValueError, SafetyError, TargetError) as error:
            return _refused(str(error))
        return None
