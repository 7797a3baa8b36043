"""Fixtures for every test: the sandbox and Locust runs (tests/support/fixtures.py); the
order tests are handed out in; and each test's CPU time, for the suite's budget."""

import resource

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


_CPU_AT_SETUP = pytest.StashKey[float]()


def cpu_seconds() -> float:
    """This process's CPU time and its waited-for children's (the Locust runs, sandboxes and
    servers a test starts and stops): on 2 cores the suite's wall time is bounded by its sum."""
    usages = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return sum(usage.ru_utime + usage.ru_stime for usage in usages)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[_CPU_AT_SETUP] = cpu_seconds()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Each test's CPU seconds, setup to teardown, as the JUnit property `cpu_s`
    (scripts/flake-hunt lists the heaviest). A fixture shared by a module's tests counts for
    the test that ends it; a process never waited for (killed orphans) is not counted."""
    if call.when == "teardown" and _CPU_AT_SETUP in item.stash:
        item.user_properties.append(("cpu_s", f"{cpu_seconds() - item.stash[_CPU_AT_SETUP]:.2f}"))
    return (yield)
