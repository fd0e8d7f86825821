"""The Memorization page's network job: a small NCSN trained on the page's training points in the
shared pool, one per session, restarted when the page's settings change. The page starts it on its own,
so it is a background job: Train or Generate on another page stops it instead of waiting for it.

The records live here, not in the page script: a class defined in a page script is a new class on every
rerun, so a record kept in session state would never equal the next run's.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from app.ui.resources import job_pool
from app.ui.sessions import session_id
from models.core.jobs import Job, OneJobPerSession
from models.score.experiments import memorization_network_result, memorization_run
from models.score.run import train_then_sample_task


@dataclass(frozen=True)
class NetworkSettings:
    """What the network trains on, and for how long: a change starts a new job."""

    name: str
    n_train: int
    n_samples: int
    seed: int
    steps: int


@dataclass(frozen=True)
class NetworkJob:
    """This session's network job and the settings it trains for."""

    settings: NetworkSettings
    job: Job


def network_job(settings: NetworkSettings):
    """The job for these settings: reuse this session's, else start one (cancelling an outdated one)."""
    current: NetworkJob | None = st.session_state.get("mem_job")
    retry = st.session_state.pop("mem_retry", False)  # set by the "Train again" button
    if current is not None and current.settings == settings and not (retry and current.job.is_finished):
        return current.job
    if current is not None and not current.job.is_finished:
        current.job.cancel()
    name, n_train, n_samples, seed = settings.name, settings.n_train, settings.n_samples, settings.seed
    run = memorization_run(name, n_train, settings.steps, seed)
    task = train_then_sample_task(run, memorization_network_result, n_samples=n_samples, seed=seed)
    try:  # started on sight: a button pressed on another page stops it rather than wait for it
        job = job_pool().submit(task, name=f"memorization: NCSN on {n_train} {name} points", owner=session_id(),
                                background=True)
    except OneJobPerSession as exc:
        st.session_state["mem_busy"] = str(exc)
        return None
    st.session_state.pop("mem_busy", None)
    st.session_state["mem_job"] = NetworkJob(settings, job)
    return job
