"""`make run` runs this before Streamlit starts: every DC_* setting checked, the first problem on one line.

Each package checks its own settings (the job pool's in models/core/server_settings.py, the FLUX engine's in
models/flux/settings.py); this entry point, above them all, only asks each. Exit 2 on a problem, else 0.
"""

from __future__ import annotations

import os
import sys
from typing import Mapping

from models.core import server_settings
from models.flux import settings as flux_settings


def check_settings(env: Mapping[str, str] | None = None) -> list[str]:
    """Every problem with the DC_* settings, one line each (empty: all good)."""
    env = os.environ if env is None else env
    return server_settings.check_settings(env) + flux_settings.check_settings(env)


def main() -> int:
    problems = check_settings()
    if problems:
        extra = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        print(f"error: {problems[0]}{extra}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
