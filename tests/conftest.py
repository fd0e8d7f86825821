"""Shared fixtures and the markers every test run relies on.

Markers (registered in pytest.ini; `make test-fast` leaves out all three):
* `browser` — drives headless chromium: every test under tests/browser/ gets it here.
* `server`  — starts `streamlit run`: every test that uses a served app (the fixtures in
  tests/browser/conftest.py) gets it here, so a new one cannot forget it.
* `slow`    — takes more than ~3 s on a quiet 2-core machine: marked by hand on the test
  (`make test` prints the 25 slowest, which shows what to mark), or set here for every test
  that needs a fixture listed in SLOW_FIXTURES.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
BROWSER_TESTS = ROOT / "tests" / "browser"
SERVER_FIXTURES = {"app_server", "classroom_server"}
# Session fixtures that take more than a few seconds to build: every test that needs one is slow.
SLOW_FIXTURES = {"trained"}  # tests/text_to_image/conftest.py: a 600-step training run (~8 s of CPU)

# 2-D point clouds and tiny networks: one torch thread is several times faster than two fighting for
# the cores of a busy 2-core machine (the engine's loops use `limited_threads` for the same reason).
# Set once here, a test's speed no longer depends on which test ran before it and left what behind.
torch.set_num_threads(1)


def pytest_collection_modifyitems(items):
    for item in items:
        if BROWSER_TESTS in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)
        fixtures = set(getattr(item, "fixturenames", ()))
        if SERVER_FIXTURES & fixtures:
            item.add_marker(pytest.mark.server)
        if SLOW_FIXTURES & fixtures:
            item.add_marker(pytest.mark.slow)
