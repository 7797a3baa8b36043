"""Benchmark locustfile without the service: vanilla Locust."""

from overhead_users import SaturatingUser  # noqa: F401
