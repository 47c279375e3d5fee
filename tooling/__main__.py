"""Entry point of `python -m tooling`."""

import sys

from tooling.cli import main

sys.exit(main())
