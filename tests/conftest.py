"""Fixtures for every test: the sandbox and Locust runs (tests/support/fixtures.py)."""

pytest_plugins = ["tests.support.fixtures"]
