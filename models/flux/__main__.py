"""`python -m models.flux ...`: see models/flux/cli.py."""

import sys

from models.flux.cli import main

sys.exit(main())
