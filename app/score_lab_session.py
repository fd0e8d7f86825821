"""Score lab session glue: which `TrainingRun` belongs to this browser tab, and the buttons' actions.

The run itself, its worker and every analysis live in `models/score/run.py`; this file
only keeps the run in `st.session_state` and submits it to the shared job pool. The
actions are button callbacks: they run before the page script, so the page draws the
new state.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from app.resources import job_pool, session_id
from models.jobs import Job
from models.score.checkpoints import ScoreModel
from models.score.datasets import DatasetSpec, training_data
from models.score.run import N_TRAIN, TrainingRun, loaded_run, training_job
from models.score.trainer import TrainConfig

RUN_KEY = "score_lab_run"
CACHE_KEY = "score_lab_cache"


def current_run() -> TrainingRun | None:
    return st.session_state.get(RUN_KEY)


def cached(key: tuple, compute):
    """Per-session memo for results of the current run (cleared on Reset and on a new run)."""
    store = st.session_state.setdefault(CACHE_KEY, {})
    if key not in store:
        if len(store) > 24:
            store.clear()
        store[key] = compute()
    return store[key]


def load_data(spec: DatasetSpec, seed: int):
    """The training points for the sidebar's choice (memoized per session)."""
    return cached(("data", spec, seed), lambda: training_data(spec, N_TRAIN, seed))


def _submit(run: TrainingRun) -> Job:
    run.job = job_pool().submit(lambda job: training_job(job, run), name="score-lab training", owner=session_id())
    return run.job


def start_training(spec: DatasetSpec, config: TrainConfig) -> None:
    """Train a fresh model (the old run, if any, is stopped and dropped)."""
    reset()
    run = TrainingRun(data=load_data(spec, config.seed), config=config)
    st.session_state[RUN_KEY] = run
    _submit(run)


def retrain_on_cpu() -> None:
    """The same data and settings again, on the CPU (after a GPU failure)."""
    run = current_run()
    if run is not None and run.data is not None:
        start_training(run.data.spec, replace(run.config, device="cpu"))


def stop_training() -> None:
    run = current_run()
    if run is not None and run.job is not None:
        run.job.cancel()


def resume_training(extra_steps: int) -> None:
    """Continue the same Trainer: to its target if it stopped early, else `extra_steps` more."""
    run = current_run()
    if run is None or run.trainer is None or run.running:
        return
    if run.steps_done >= run.target_steps:
        run.target_steps = run.steps_done + int(extra_steps)
    _submit(run)


def reset() -> None:
    """Stop and forget this session's run (frees the Trainer, its data and cached results)."""
    run = st.session_state.pop(RUN_KEY, None)
    if run is not None and run.job is not None:
        run.job.cancel()
        run.job.result = None
    st.session_state.pop(CACHE_KEY, None)


def set_loaded(model: ScoreModel, history: list[dict]) -> None:
    """Make a model loaded from a zip this session's run."""
    reset()
    st.session_state[RUN_KEY] = loaded_run(model, history)
