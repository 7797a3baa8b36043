"""Fixtures for every test: the sandbox and Locust runs (tests/support/fixtures.py)."""

import pytest

pytest_plugins = ["tests.support.fixtures"]


def _minutes(item: pytest.Item) -> float:
    long = item.get_closest_marker("long")
    return long.kwargs.get("minutes", 1.0) if long else 0.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first (a stable sort keeps the rest in order): pytest-xdist hands
    tests out in this order (one at a time: scripts/run-tests), so the longest are under way
    from the start instead of ending last."""
    items.sort(key=_minutes, reverse=True)
