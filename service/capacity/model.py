"""Which model a capacity search runs when not told: open, when every user class can run open.

The open model schedules a user's iterations at its TaskSet's loop (`service.open_model.
user_loop`). A user class that overrides `User.run` has no such loop: its iterations would never
wait for an arrival. With such a class in the scenario the search runs closed (`auto`), or
refuses to start (`open` asked for explicitly)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from locust import User

from service.settings.service_options import ServiceOptions

CLOSED, OPEN = "closed", "open"


def loaded_user_classes() -> list[type]:
    """The scenario's user classes, once Locust has imported the locustfile (before it
    parses its flags): the concrete User subclasses outside Locust itself."""
    found, stack = [], list(User.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if not cls.__dict__.get("abstract", False) and not cls.__module__.startswith("locust"):
            found.append(cls)
    return found


def blocking_open(user_classes: Iterable[type]) -> list[str]:
    """The user classes that cannot run open: they run their own loop."""
    return sorted(c.__name__ for c in user_classes if c.run is not User.run)


def resolve(options: ServiceOptions, user_classes: Iterable[type]) -> ServiceOptions:
    """The options with the search's model decided and why (`model_reason`, for the log and
    the answer); ValueError when open was asked for and a user class cannot run it."""
    plan = options.capacity
    if plan is None:
        return options
    if plan.model == CLOSED:
        return replace(options, capacity=replace(plan, model_reason="asked for"))
    blocking = blocking_open(user_classes)
    if not blocking:
        why = "asked for" if plan.model == OPEN else "the default: every user class can run open"
        return replace(options, capacity=replace(plan, model=OPEN, model_reason=why))
    if plan.model == OPEN:
        raise ValueError(
            f"--capacity-model open: {', '.join(blocking)} runs its own loop (overrides "
            "User.run), so its iterations cannot be scheduled; use --capacity-model closed"
        )
    why = f"{', '.join(blocking)} runs its own loop (overrides User.run), so closed"
    closed = replace(plan, model=CLOSED, model_reason=why)
    return replace(options, capacity=closed, arrivals=None)
