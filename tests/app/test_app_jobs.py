"""One job per session, as a student meets it across pages (AppTest, jobs in the app's worker processes).

* A page that trains on sight (Memorization) never blocks a button: Train in the Score lab stops it.
* A job a button started does block another page's Train, and that page offers the Stop button for it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.ui.resources import job_pool

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def no_jobs_left():
    """AppTest sessions share the app's pool: every job a test started is stopped before the next test."""
    yield
    pool = job_pool()
    deadline = time.monotonic() + 30
    while (pool.running or pool.waiting) and time.monotonic() < deadline:
        for job in list(pool._running) + list(pool._queue):
            job.cancel()
        time.sleep(0.2)


def _app():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(MAIN, default_timeout=90)
    at.run()
    return at


def _go(at, page: str):
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def _train_score_lab(at, steps: int = 100):
    _go(at, "views/score_lab.py")
    at.number_input(key="sl_steps").set_value(steps).run()
    at.button(key="sl_train").click().run()
    assert not at.exception, at.exception


def _errors(at) -> list[str]:
    return [e.value for e in at.error]


def test_train_in_the_score_lab_stops_the_memorization_pages_own_job():
    at = _go(_app(), "views/memorization.py")
    page_job = at.session_state["mem_job"].job  # the page started its network on sight
    assert not page_job.is_finished
    _train_score_lab(at)
    assert not any("already have a job" in e for e in _errors(at)), _errors(at)
    run = at.session_state["score_lab_run"]
    assert run.job is not None and run.job is not page_job
    assert page_job.wait(30) and page_job.state == "cancelled"
    assert run.job.wait(120) and run.job.state == "done", run.job.error


def test_a_blocking_job_is_named_with_its_stop_button_on_the_page_that_is_blocked():
    at = _go(_app(), "views/langevin.py")
    at.button(key="lv_train").click().run()  # a job started by a button: it is not stopped by another page
    blocker = at.session_state["lv_net_job"]
    _train_score_lab(at)
    assert any("already have a job in progress (Langevin page" in e for e in _errors(at)), _errors(at)
    stop = at.button(key="sl_blocker_stop")
    assert stop.label.startswith("Stop Langevin page")
    stop.click().run()
    assert blocker.wait(30) and blocker.state == "cancelled"
    at.button(key="sl_train").click().run()
    assert not _errors(at), _errors(at)
    assert at.session_state["score_lab_run"].job is not None


def test_a_killed_worker_fails_the_run_in_one_line_and_the_next_train_works():
    import os
    import signal

    from models.lab.run import progress_of

    at = _app()
    _train_score_lab(at, steps=20_000)
    run = at.session_state["score_lab_run"]
    deadline = time.monotonic() + 90
    while (progress_of(run.job).step or 0) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    victim = run.job.worker_pid
    os.kill(victim, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    assert run.job.wait(30) and run.job.state == "failed"
    at.run()
    lines = [e for e in _errors(at) if "worker process" in e]
    assert len(lines) == 1 and "SIGKILL" in lines[0] and "\n" not in lines[0], _errors(at)
    assert lines[0].startswith("Training did not finish: the worker process") and "GPU" not in lines[0]
    at.number_input(key="sl_steps").set_value(300).run()
    at.button(key="sl_train").click().run()
    again = at.session_state["score_lab_run"]
    assert again is not run
    assert again.job.wait(120) and again.job.state == "done", again.job.error
    assert again.steps_done == 300 and again.job.worker_pid != victim


def test_the_results_first_samples_come_from_the_worker(monkeypatch):
    """The app's process only draws: the samples a finished run shows first were drawn in its worker."""
    from models.score import run as training_run

    at = _app()
    _train_score_lab(at, steps=200)
    run = at.session_state["score_lab_run"]
    assert run.job.wait(120) and run.job.state == "done", run.job.error
    assert [steps for steps, _, _ in run.drawn] == [200]

    def not_here(*args, **kwargs):
        raise AssertionError("sampled in the app's process")

    monkeypatch.setattr(training_run, "draw_samples", not_here)
    at.run()
    assert not at.exception, at.exception
    assert any(s.value == "What the model learned" for s in at.subheader)
