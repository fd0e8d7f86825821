"""Shared fixtures and the markers every test run relies on (plain helper functions: tests/helpers.py).

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
from typing import NamedTuple

import pytest
import torch

from tests import helpers

# The FLUX engine's fixtures (the tiny pipeline, built once per session): the flux and gallery tests use them.
pytest_plugins = ["tests.flux_fixtures"]

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


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(autouse=True)
def _no_job_outlives_its_test():
    """Every app a test opened with tests/helpers.py has its background jobs cancelled afterwards."""
    yield
    opened, helpers.OPENED[:] = list(helpers.OPENED), []
    for at in opened:
        helpers.cancel_jobs(at)


class CliResult(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys, monkeypatch):
    """cli(main, *args, env=None) -> CliResult: a command line's `main` called in this process (no
    interpreter start-up), with `env` set for the call's test, its output captured; a `main` that exits
    (SystemExit, as argparse does) gives that exit status. A traceback never reaches a user of the
    command line, so one on stderr fails the test."""
    def call(main, *args, env: dict | None = None) -> CliResult:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()  # only this call's output
        try:
            code = main([str(a) for a in args])
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 1
        out = capsys.readouterr()
        assert "Traceback" not in out.err, out.err
        return CliResult(code, out.out, out.err)
    return call


@pytest.fixture(scope="session")
def tiny_score_run(tmp_path_factory) -> Path:
    """A run folder from the 2-D lab's command line: an NCSN on moons, 20 steps, width 16, 3 levels. For
    tests that need a run to read (options, bad input), not a good model; never write into it."""
    from models.toy2d.cli import main

    out = tmp_path_factory.mktemp("tiny-score") / "run"
    assert main(["train", "--dataset", "moons", "--steps", "20", "--hidden", "16", "--depth", "2",
                 "--levels", "3", "--batch-size", "32", "--out", str(out)]) == 0
    return out


@pytest.fixture
def served_to_the_class(monkeypatch):
    """The app as `make run HOST=0.0.0.0` serves it, with the instructor's token "owl-42": every browser
    is a student until the instructor signs in."""
    from streamlit import config as st_config

    from models.core.access import TOKEN_ENV

    monkeypatch.setenv(TOKEN_ENV, "owl-42")
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "0.0.0.0")
    yield
    st_config.set_option("server.address", before)
