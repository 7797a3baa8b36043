"""The test suite.

Locust patches the standard library with gevent when imported, and pytest-xdist's workers wait
on real threads: patched, they stop with "LoopExit: This operation would block forever". The
test process therefore imports Locust unpatched, first (Locust's pytest plugin, which would
import it before this, is off in pyproject.toml). The processes the tests start patch
themselves as always: the variable is gone from the environment they inherit."""

import os

os.environ["LOCUST_SKIP_MONKEY_PATCH"] = "1"
import locust  # noqa: F401 - unpatched, before anything else imports it

del os.environ["LOCUST_SKIP_MONKEY_PATCH"]
