"""Benchmark locustfile with the service imported, as the project's locustfiles do."""

from overhead_users import SaturatingUser  # noqa: F401

import service  # noqa: F401
