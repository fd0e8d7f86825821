"""Score lab session glue: which `TrainingRun` belongs to this browser tab, and the buttons' actions.

The run itself, its worker and every analysis live in `models/score/run.py`; this file
only keeps the run in `st.session_state`, submits it to the shared job pool (one job per
session at a time: `OneJobPerSession`), and puts the run's id in the URL (`?run=...`) so
a reloaded tab finds its run again (`app.ui.resources.run_registry`).
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from app.ui.resources import job_pool, run_gone_notice, run_registry, session_id
from models.core.jobs import Job, OneJobPerSession, busy_message
from models.lab.datasets import DatasetSpec, training_data
from models.score.checkpoints import ScoreModel
from models.score.run import N_TRAIN, TrainingRun, loaded_run, training_job
from models.score.trainer import TrainConfig

RUN_KEY = "score_lab_run"
RUN_ID_KEY = "score_lab_run_id"
CACHE_KEY = "score_lab_cache"
URL_PARAM = "run"


def current_run() -> TrainingRun | None:
    """This tab's run; after a browser reload, the run named in the URL (its job changes owner)."""
    run = st.session_state.get(RUN_KEY)
    if run is None and URL_PARAM in st.query_params:
        run = run_registry().get(st.query_params[URL_PARAM], kind=TrainingRun, owner=session_id())
        if run is None:
            del st.query_params[URL_PARAM]  # expired or never ours: start clean, and say why
            run_gone_notice("training run")
            return None
        st.session_state[RUN_KEY], st.session_state[RUN_ID_KEY] = run, st.query_params[URL_PARAM]
        if run.job is not None and not run.job.is_finished:
            job_pool().adopt(run.job, session_id())
    if run is not None and st.query_params.get(URL_PARAM) != st.session_state.get(RUN_ID_KEY):
        st.query_params[URL_PARAM] = st.session_state[RUN_ID_KEY]  # back on this page: a reload finds it
    return run


def _keep(run: TrainingRun) -> None:
    run_id = run_registry().register(run, owner=session_id())
    st.session_state[RUN_KEY], st.session_state[RUN_ID_KEY] = run, run_id
    st.query_params[URL_PARAM] = run_id


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


def _check_no_other_job() -> None:
    """One job per session: another page's job started by a button must finish (or be stopped) first; a
    job a page started on its own (Memorization's network) is stopped by the press instead."""
    other = job_pool().active_job(session_id(), include_background=False)
    run = current_run()
    if other is not None and (run is None or other is not run.job):
        raise OneJobPerSession(busy_message(other), other)


def _submit(run: TrainingRun) -> Job:
    """Train `run` in a job worker; the weights come back onto it when the job ends (or is stopped)."""
    run.job = job_pool().submit(run.training_task(training_job), name="score-lab training", owner=session_id())
    return run.job


def start_training(spec: DatasetSpec, config: TrainConfig) -> None:
    """Train a fresh model (the old run, if any, is stopped and dropped)."""
    _check_no_other_job()
    reset()
    run = TrainingRun(data=load_data(spec, config.seed), config=config)
    _submit(run)  # first: OneJobPerSession leaves the session without a half-made run
    _keep(run)


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
    _check_no_other_job()
    if run.steps_done >= run.target_steps:
        run.target_steps = run.steps_done + int(extra_steps)
    _submit(run)


def reset() -> None:
    """Stop and forget this session's run (frees the Trainer, its data and cached results)."""
    run = st.session_state.pop(RUN_KEY, None)
    if run is not None and run.job is not None:
        run.job.cancel()
        run.job.result = None
    run_registry().forget(st.session_state.pop(RUN_ID_KEY, None))
    if URL_PARAM in st.query_params:
        del st.query_params[URL_PARAM]
    st.session_state.pop(CACHE_KEY, None)


def set_loaded(model: ScoreModel, history: list[dict]) -> None:
    """Make a model loaded from a zip this session's run."""
    reset()
    _keep(loaded_run(model, history))


def trained_ncsn_run() -> TrainingRun | None:
    """This session's Score lab NCSN when it has trained and is not training now (other pages use it)."""
    run = st.session_state.get(RUN_KEY)
    if run is None or run.kind != "ncsn" or run.running or run.steps_done == 0 or run.data is None:
        return None
    return run
