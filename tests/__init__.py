"""The test suite. Locust patches the standard library with gevent when imported; like every
Locust process, this one must do it before anything imports ssl (requests does)."""

import locust  # noqa: F401
