"""`python -m service.commands.launch`: Locust's own command line with the service installed
first, so metrics, rails and JSON logs are there whatever the locustfile imports (how the CLI
runs it)."""

import sys

from locust.main import main

import service.plugin  # noqa: F401 - installs the plugin

sys.exit(main())
