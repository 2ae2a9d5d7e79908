"""`python -m bench`: run benchmark scenarios (see bench/cli.py)."""

import sys

from bench.cli import main

sys.exit(main())
