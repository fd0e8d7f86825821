"""A training job's status, as both labs show it: its progress bar, the history its charts draw, and
letting go of a finished job's copies."""

from __future__ import annotations

import streamlit as st


def live_history(run, snap: dict) -> list[dict]:
    """The loss history to draw: the job's while it trains, the run's own once it has finished."""
    job = run.job
    return run.history if (job is None or job.is_finished) else (snap.get("history") or [])


def training_progress(run, snap: dict) -> None:
    """The progress bar of a running job: its phase, and in the training phase step / total."""
    step, total = int(snap.get("step", run.steps_done)), max(int(snap.get("total", run.target_steps)), 1)
    phase = snap.get("phase", "starting")
    st.progress(min(step / total, 1.0), text=f"{phase}: step {step:,} / {total:,}" if phase == "training"
                else f"{phase}…")


def release_finished_job(run) -> None:
    """The run lives in session state and keeps what it needs: drop the pool's reference to a finished
    job's result, and the job's copies of the last preview and history."""
    if run is not None and run.job is not None and run.job.is_finished:
        run.job.result = None
        if run.job.snapshot().get("preview") is not None:
            run.job.report(preview=None, history=None)
