"""`python -m service`: the service command line."""

import sys

from service.cli import main

sys.exit(main())
