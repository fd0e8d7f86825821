"""Score lab session glue: which `TrainingRun` belongs to this browser tab, and the buttons' actions.

The run itself, its worker and every analysis live in `models/score/run.py`; this file
only submits it to the shared job pool. Keeping it in this tab, and finding it again after a
reload through the URL (`?run=...`), is `app.ui.tab_run`'s, as for Text to image.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from app.ui.resources import job_pool
from app.ui.sessions import session_id
from app.ui.tab_run import TabRun
from models.core.jobs import Job
from models.lab.datasets import DatasetSpec, training_data
from models.score.checkpoints import ScoreModel
from models.score.defaults import default_settings
from models.score.run import N_TRAIN, TrainingRun, loaded_run, training_job
from models.score.trainer import TrainConfig

RUN_KEY = "score_lab_run"
TAB = TabRun(RUN_KEY, TrainingRun, cache_key="score_lab_cache", cache_limit=24)
current_run, cached, reset, stop_training = TAB.current, TAB.cached, TAB.reset, TAB.stop


def load_data(spec: DatasetSpec, seed: int):
    """The training points for the sidebar's choice (memoized per session)."""
    return cached(("data", spec, seed), lambda: training_data(spec, N_TRAIN, seed))


def _submit(run: TrainingRun) -> Job:
    """Train `run` in a job worker; the weights come back onto it when the job ends (or is stopped)."""
    results = (st.session_state.get("sl_sampler") or default_settings(run.data.spec).sampler,
               int(st.session_state.get("sl_spl") or 20))  # what the results will show first: drawn in the worker
    run.job = job_pool().submit(run.training_task(training_job, results=results), name="score-lab training",
                                owner=session_id())
    return run.job


def start_training(spec: DatasetSpec, config: TrainConfig) -> None:
    """Train a fresh model (the old run, if any, is stopped and dropped)."""
    TAB.check_free()
    reset()
    run = TrainingRun(data=load_data(spec, config.seed), config=config)
    _submit(run)  # first: OneJobPerSession leaves the session without a half-made run
    TAB.keep(run)


def retrain_on_cpu() -> None:
    """The same data and settings again, on the CPU (after a GPU failure)."""
    run = current_run()
    if run is not None and run.data is not None:
        start_training(run.data.spec, replace(run.config, device="cpu"))


def resume_training(extra_steps: int) -> None:
    """Continue the same Trainer: to its target if it stopped early, else `extra_steps` more."""
    run = current_run()
    if run is None or run.trainer is None or run.running:
        return
    TAB.check_free()
    if run.steps_done >= run.target_steps:
        run.target_steps = run.steps_done + int(extra_steps)
    _submit(run)


def set_loaded(model: ScoreModel, history: list[dict]) -> None:
    """Make a model loaded from a zip this session's run."""
    reset()
    TAB.keep(loaded_run(model, history))


def trained_ncsn_run() -> TrainingRun | None:
    """This session's Score lab NCSN when it has trained and is not training now (other pages use it)."""
    run = st.session_state.get(RUN_KEY)
    if run is None or run.kind != "ncsn" or run.running or run.steps_done == 0 or run.data is None:
        return None
    return run
