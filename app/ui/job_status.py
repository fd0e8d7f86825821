"""A background job's status on a page: the labs' progress bar, the history their charts draw and
letting go of a finished job's copies; the other pages' one job, started and followed."""

from __future__ import annotations

import streamlit as st

from app.ui.resources import job_pool
from app.ui.sessions import session_id
from models.core.jobs import OneJobPerSession
from models.lab.run import TrainingProgress, progress_of


def live_history(run, snap: TrainingProgress) -> list[dict]:
    """The loss history to draw: the job's while it trains, the run's own once it has finished."""
    job = run.job
    return run.history if (job is None or job.is_finished) else (snap.history or [])


def training_progress(run, snap: TrainingProgress) -> None:
    """The progress bar of a running job: its phase, and in the training phase step / total."""
    step = int(run.steps_done if snap.step is None else snap.step)
    total = max(int(run.target_steps if snap.total is None else snap.total), 1)
    phase = snap.phase or "starting"
    st.progress(min(step / total, 1.0), text=f"{phase}: step {step:,} / {total:,}" if phase == "training"
                else f"{phase}…")


def release_finished_job(run) -> None:
    """The run lives in session state and keeps what it needs: drop the pool's reference to a finished
    job's result, and the job's copies of the last preview and history."""
    if run is not None and run.job is not None and run.job.is_finished:
        run.job.result = None
        if progress_of(run.job).preview is not None:
            run.job.report(preview=None, history=None)


def submit_page_job(key: str, work, name: str, *, background: bool = False):
    """Start `work` (a Task) in the shared pool as this session's job under st.session_state[key] (an
    unfinished earlier one is cancelled first). Returns the job in session state: the earlier one when
    another of this session's jobs is still in progress (one job per session), which the page says, with
    a button that stops that job. `background`: the page started it on its own (a button press elsewhere
    stops it rather than wait for it)."""
    old = st.session_state.get(key)
    if old is not None and not old.is_finished:
        old.cancel()
    try:
        st.session_state[key] = job_pool().submit(work, name=name, owner=session_id(), background=background)
    except OneJobPerSession as exc:
        blocked_notice(OneJobPerSession(f"Not started: {exc}.", exc.job), key=f"{key}_blocker_stop",
                       icon=":material/hourglass_top:")
    return st.session_state.get(key)


def blocked_notice(message, *, key: str, blocked: bool = True, icon: str = ":material/error:") -> None:
    """`message` (why a job did not start), and while this session's other job (started by a button) is
    still in progress, a button that stops it: the page that says a job blocks offers its Stop."""
    if not message:
        return
    st.error(str(message), icon=icon)
    job = message.job if isinstance(message, OneJobPerSession) else None
    if blocked and job is None:
        job = job_pool().active_job(session_id(), include_background=False)
    if job is not None and not job.is_finished and not job.should_stop():
        st.button(f"Stop {job.name}", key=key, on_click=job.cancel, icon=":material/stop:")


def background_progress(job, progress, *, stop_key: str, stop_label: str = "Stop") -> None:
    """While `job` runs, every 0.5 s: its place in line, or `progress(snapshot)`, and a Stop button.
    When it finishes, the whole page is drawn once more, with its results."""

    @st.fragment(run_every=0.5)
    def panel() -> None:
        if job.is_finished:
            st.rerun()
        snap = progress_of(job)
        if job.queue_position:
            st.info(f"Waiting for a free worker (position {job.queue_position} in line)…")
        else:
            progress(snap)
        st.button(stop_label, on_click=job.cancel, key=stop_key)

    panel()
