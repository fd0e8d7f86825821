"""Train, Stop, Resume / Train more and Reset, and the data the sidebar picked.

Train and Resume act in the script, not in a callback: they need this run's settings (a value typed
into the sidebar arrives together with the click; a callback would see the old one).
"""

from __future__ import annotations

import streamlit as st

from app.score_lab import session
from app.score_lab.settings import Settings
from app.ui import charts
from app.ui.job_status import blocked_notice
from app.ui.presentation import chart
from models.core.jobs import OneJobPerSession

ss = st.session_state


def _on_train(settings: Settings) -> None:
    ss.pop("sl_error", None)
    if settings.error:  # shown beside the buttons for as long as it holds (never kept: it must clear when fixed)
        return
    try:
        session.start_training(settings.spec, settings.config)
    except OneJobPerSession as exc:
        ss["sl_error"] = str(exc)


def _on_resume(extra_steps: int) -> None:
    ss.pop("sl_error", None)
    try:
        session.resume_training(extra_steps)
    except OneJobPerSession as exc:
        ss["sl_error"] = str(exc)


def on_cpu_fallback() -> None:
    ss["sl_device"] = "cpu"
    ss.pop("sl_error", None)
    try:
        session.retrain_on_cpu()
    except OneJobPerSession as exc:
        ss["sl_error"] = str(exc)


def _on_reset() -> None:
    ss.pop("sl_error", None)
    session.reset()


def buttons_ui(settings: Settings, run, *, running: bool) -> None:
    """The four buttons, and below them why Train cannot start or that the settings changed."""
    with st.container():  # the buttons get the full width: four labels must fit beside an open sidebar
        b1, b2, b3, b4 = st.columns(4)
        if b1.button("Train", type="primary", key="sl_train", disabled=running or bool(settings.error),
                     icon=":material/play_arrow:", width="stretch"):
            _on_train(settings)
            st.rerun()
        b2.button("Stop", key="sl_stop", on_click=session.stop_training, disabled=not running,
                  icon=":material/stop:", width="stretch")
        can_resume = run is not None and run.trainer is not None and not running
        more = run is not None and run.trainer is not None and run.steps_done >= run.target_steps
        if b3.button("Train more" if more else "Resume", key="sl_resume", disabled=not can_resume,
                     icon=":material/fast_forward:", width="stretch",
                     help="Continue training the same network (same weights, same optimizer): to the end of the "
                          "run if it was stopped, else for another 'Training steps' steps."):
            _on_resume(settings.extra_steps)
            st.rerun()
        b4.button("Reset", key="sl_reset", on_click=_on_reset, disabled=run is None,
                  icon=":material/restart_alt:", width="stretch")
        blocked_notice(ss.get("sl_error"), key="sl_blocker_stop")
        if run is not None and run.trainer is not None and not running:
            if settings.config != run.config or settings.spec != run.data.spec:
                st.caption("Settings changed since this model was trained: press **Train** to start a new one.")


def data_preview(settings: Settings, run) -> None:
    """The picked data (until a run on it exists), or why there is none."""
    if settings.error:
        st.warning(settings.error, icon=":material/warning:")
    elif settings.data is not None and (run is None or run.data is None or run.data.spec != settings.spec):
        chart(charts.scatter(None, settings.data.points, title=f"Data: {settings.spec.describe()}",
                             max_points=1500, size=260))
