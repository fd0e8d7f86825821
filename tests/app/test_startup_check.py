"""`make run`'s start-up check (app/startup_check.py): every package's DC_* settings, the first problem on
one line and exit 2, before Streamlit starts."""

from __future__ import annotations

import os
from pathlib import Path

from app.startup_check import check_settings
from tests.helpers import clean_env, run_module

ROOT = Path(__file__).resolve().parents[2]


def test_every_packages_problems_are_listed_one_line_each(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    env = {"DC_MAX_JOBS": "abc", "DC_ALLOW_DOWNLOAD": "maybe", "DC_OUTPUT_DIR": str(a_file)}
    problems = check_settings(env)
    assert [p.split("=")[0] for p in problems] == ["DC_MAX_JOBS", "DC_ALLOW_DOWNLOAD", "DC_OUTPUT_DIR"], problems
    assert check_settings({"DC_OUTPUT_DIR": str(tmp_path / "new"), "DC_MAX_JOBS": "2"}) == []


def test_make_run_checks_the_settings_first_and_stops_on_one_line():
    assert "python -m app.startup_check" in (ROOT / "Makefile").read_text()
    p = run_module("app.startup_check", env={**os.environ, "DC_MAX_JOBS": "abc"}, timeout=60)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [p.stderr.strip()] and "DC_MAX_JOBS" in p.stderr
    p = run_module("app.startup_check", env=clean_env(), timeout=60)
    assert p.returncode == 0, p.stderr
