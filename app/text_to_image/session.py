"""Text to image, session glue: which run belongs to this browser tab, and the buttons' actions.

The run and its worker live in models/text_to_image/run.py; this file keeps the run in
`st.session_state`, submits it to the shared job pool (one job per session), and puts its id in the
URL (`?run=...`) so a reloaded tab finds its run again.
"""

from __future__ import annotations

import streamlit as st

from app.ui.resources import job_pool, run_gone_notice, run_registry, session_id
from models.core.jobs import OneJobPerSession, busy_message
from models.text_to_image.run import TextToImageRun, loaded_run
from models.text_to_image.train import TrainConfig

RUN_KEY = "t2i_run"
RUN_ID_KEY = "t2i_run_id"
CACHE_KEY = "t2i_cache"
URL_PARAM = "run"


def current_run() -> TextToImageRun | None:
    """This tab's run; after a browser reload, the run named in the URL (its job changes owner)."""
    ss = st.session_state
    run = ss.get(RUN_KEY)
    if run is None and URL_PARAM in st.query_params:
        run = run_registry().get(st.query_params[URL_PARAM], kind=TextToImageRun, owner=session_id())
        if run is None:
            del st.query_params[URL_PARAM]  # expired, or another page's run: start clean, and say why
            run_gone_notice("training run")
            return None
        ss[RUN_KEY], ss[RUN_ID_KEY] = run, st.query_params[URL_PARAM]
        if run.job is not None and not run.job.is_finished:
            job_pool().adopt(run.job, session_id())
    if run is not None and st.query_params.get(URL_PARAM) != ss.get(RUN_ID_KEY):
        st.query_params[URL_PARAM] = ss[RUN_ID_KEY]
    return run


def _keep(run: TextToImageRun) -> None:
    run_id = run_registry().register(run, owner=session_id())
    st.session_state[RUN_KEY], st.session_state[RUN_ID_KEY] = run, run_id
    st.query_params[URL_PARAM] = run_id


def cached(key: tuple, compute):
    """Per-session memo of pictures of the current run (keys carry the run's id and its step count)."""
    store = st.session_state.setdefault(CACHE_KEY, {})
    if key not in store:
        if len(store) > 32:
            store.clear()
        store[key] = compute()
    return store[key]


def start_training(steps: int, seed: int) -> None:
    """Train a fresh model (this tab's old run, if any, is stopped and dropped)."""
    other = job_pool().active_job(session_id(), include_background=False)
    mine = current_run()
    if other is not None and (mine is None or other is not mine.job):
        raise OneJobPerSession(busy_message(other), other)
    reset()
    run = TextToImageRun(TrainConfig(steps=steps, seed=seed))
    run.job = job_pool().submit(run.training_task(), name="text-to-image training", owner=session_id())
    _keep(run)


def stop_training() -> None:
    run = current_run()
    if run is not None and run.job is not None:
        run.job.cancel()


def reset() -> None:
    """Stop and forget this tab's run."""
    run = st.session_state.pop(RUN_KEY, None)
    if run is not None and run.job is not None:
        run.job.cancel()
        run.job.result = None
    run_registry().forget(st.session_state.pop(RUN_ID_KEY, None))
    if URL_PARAM in st.query_params:
        del st.query_params[URL_PARAM]
    st.session_state.pop(CACHE_KEY, None)


def load_zip(content: bytes, name: str) -> None:
    """Make a saved run this tab's run (InputError, and the current run kept, when the zip is not one)."""
    run = loaded_run(content, name)
    reset()
    _keep(run)
