"""Shared fixtures and the markers every test run relies on.

Markers (registered in pytest.ini; `make test-fast` leaves out all three):
* `browser` — drives headless chromium: every test under tests/browser/ gets it here.
* `server`  — starts `streamlit run`: every test that uses a served app (the fixtures in
  tests/browser/conftest.py) gets it here, so a new one cannot forget it.
* `slow`    — takes more than ~3 s on a quiet 2-core machine: marked by hand on the test
  (`make test` prints the 25 slowest, which shows what to mark).
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BROWSER_TESTS = ROOT / "tests" / "browser"
SERVER_FIXTURES = {"app_server", "classroom_server"}


def pytest_collection_modifyitems(items):
    for item in items:
        if BROWSER_TESTS in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.server)
