import sys

from models.toy2d.cli import main

sys.exit(main(prog="python -m models.score"))  # the 2-D lab's command line under its first name
