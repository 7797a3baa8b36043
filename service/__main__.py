"""`python -m service`: the service command line."""

import sys

from service.commands.cli import main

sys.exit(main())
