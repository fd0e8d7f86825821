"""Each flow's live panel: its progress and loss, and its samples while it trains, redrawn by a
fragment without rerunning the page. Also the one-line error of the page's buttons."""

from __future__ import annotations

import streamlit as st

from app.flow_lab import session
from app.ui import charts, training_charts
from app.ui.job_status import blocked_notice, live_history, release_finished_job, training_progress
from app.ui.presentation import spec_chart
from models.core.errors import InputError
from models.core.jobs import OneJobPerSession
from models.lab.run import progress_of

ss = st.session_state
STATUS = {"main": "the flow", "reflow": "the reflow", "guided": "the class-conditional flow"}


def act(action) -> None:
    """Run a button's action; a second job of this session, or a bad setting, becomes one line on the page."""
    ss.pop("fx_error", None)
    try:
        action()
    except (OneJobPerSession, InputError) as exc:
        ss["fx_error"], ss["fx_blocked"] = str(exc), isinstance(exc, OneJobPerSession)


def error_line() -> None:
    blocked_notice(ss.get("fx_error"), key="fx_blocker_stop", blocked=ss.get("fx_blocked", False))


def live_panel(slot: str) -> None:
    """The slot's panel, redrawn every 0.7 s while it trains (every 2 s while it waits in line)."""
    run = session.current(slot)
    state = run.job.state if run is not None and run.job is not None else None
    ss[f"fx_state_{slot}"] = state  # the fragment reruns the whole page when the job's state moves on
    release_finished_job(run)
    st.fragment(run_every={"running": 0.7, "queued": 2.0}.get(state))(_live)(slot)


def ready(slot: str):
    """The slot's flow when it has trained and is not training now, else None."""
    run = session.current(slot)
    if run is None or run.running:
        return None
    return run.model()


def _live(slot: str) -> None:
    run = session.current(slot)
    if run is None:
        return
    job = run.job
    if job is not None and job.state != ss.get(f"fx_state_{slot}"):
        st.rerun()  # queued → running → finished: the page below changes
    snap = progress_of(job)
    if job is not None and job.state == "queued":
        st.info("Waiting in line: the server trains a few models at a time.", icon=":material/hourglass_top:")
        return
    if job is not None and job.state == "running":
        training_progress(run, snap)
    elif job is not None and job.state == "cancelled":
        st.warning(f"Stopped {STATUS[slot]} at step {run.steps_done:,} of {run.target_steps:,}.",
                   icon=":material/pause:")
    elif job is not None and job.state == "failed":
        st.error(f"Training failed: {job.error}", icon=":material/error:")
    c1, c2 = st.columns(2)
    with c1:
        spec_chart(training_charts.loss_spec(live_history(run, snap), None, title=f"Loss of {STATUS[slot]}",
                                             y_title="½‖v − (ε − x₀)‖² (mean over x and y)"))
    preview = snap.preview
    if job is not None and job.state == "running" and preview is None:
        c2.caption("The live samples appear here after the first few steps.")
    if job is not None and job.state == "running" and preview is not None and run.data is not None:
        with c2:
            domain = session.cached(("domain", run.id), lambda: charts.square_domain(run.data.points))
            backdrop = session.cached(("backdrop", run.id),
                                      lambda: training_charts.samples_rows(run.data.points, "data", 600))
            spec_chart(training_charts.samples_spec(preview, backdrop, domain=domain,
                                                    title=f"Live samples ({len(preview)}, 20 Euler steps)"),
                       width="content")
