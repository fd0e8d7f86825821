"""Train: one press with the measured defaults, then live loss and a grid of the ten digit words.

A fragment redraws the progress without rerunning the page (twice a second while training). The
grid draws "zero" … "nine" from the same starting noise at every refresh, so what changes between two
refreshes is the model, not the luck of the draw.
"""

from __future__ import annotations

import math

import streamlit as st

from app.text_to_image import session
from app.ui import training_charts
from app.ui.job_status import blocked_notice
from app.ui.presentation import spec_chart
from models.core.jobs import OneJobPerSession
from models.text_to_image.images import grid_png
from models.text_to_image.train import TrainConfig

ss = st.session_state
MAX_STEPS = 5000  # the page's ceiling (the CLI allows more): ~75 s of CPU on a loaded 2-core machine


def _on_train() -> None:
    ss.pop("t2i_error", None)
    try:
        session.start_training(int(ss.get("t2i_steps", TrainConfig.steps)), int(ss.get("t2i_seed_train", 0)))
    except OneJobPerSession as exc:
        ss["t2i_error"] = str(exc)


def controls_ui(run, *, running: bool) -> None:
    c1, c2, c3, c4 = st.columns([1, 1, 1, 1], vertical_alignment="bottom")
    c1.number_input("training steps", 100, MAX_STEPS, TrainConfig.steps, 100, key="t2i_steps",
                    help="1,000 steps (the default) reach 99.9 % correct digits at 4 Euler steps in about 15 s "
                         "of CPU time (measured: docs/benchmarks.md, bench_t2i).", disabled=running)
    c2.number_input("training seed", 0, 2**31 - 1, 0, key="t2i_seed_train", disabled=running)
    c3.button("Train", type="primary", key="t2i_train", on_click=_on_train, disabled=running,
              icon=":material/play_arrow:", width="stretch")
    c4.button("Stop", key="t2i_stop", on_click=session.stop_training, disabled=not running,
              icon=":material/stop:", width="stretch")
    blocked_notice(ss.get("t2i_error"), key="t2i_blocker_stop", icon=":material/block:")


def live_ui(run) -> None:
    state = run.job.state if run is not None and run.job is not None else None
    ss["t2i_page_state"] = state
    st.fragment(run_every={"running": 0.5, "queued": 2.0}.get(state))(_live)()


def _live() -> None:
    run = session.current_run()
    if run is None:
        st.caption("Press **Train**: about 15 s of CPU time with the defaults (longer while others train). The "
                   "grid below fills in as the model learns.")
        return
    job = run.job
    if job is not None and job.state != ss.get("t2i_page_state"):
        st.rerun()  # queued → running → finished: the prompt box appears once a model exists
    if job is not None and job.state == "queued":
        ahead = max(job.queue_position - 1, 0)
        st.info(f"Waiting in line: {ahead} job(s) ahead of yours (the server trains a few models at a time).",
                icon=":material/hourglass_top:")
        return
    live = run.live()
    training = run.running
    if job is not None and job.state == "failed":
        st.error(f"Training failed: {job.error}", icon=":material/error:")
    elif job is not None and job.state == "cancelled":
        st.warning(f"Stopped at step {run.steps_done:,} of {run.config.steps:,}: the model keeps what it "
                   "learned so far.", icon=":material/pause:")
    if training:
        st.progress(min(live.step / max(live.steps, 1), 1.0), text=f"training: step {live.step:,} / {live.steps:,}")
    history = live.history if training else run.history
    step = live.step if training else run.steps_done
    cpu = live.cpu_seconds if training else (run.trained.cpu_seconds if run.trained is not None else 0.0)
    loss = history[-1]["loss"] if history else float("nan")
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("step", f"{step:,}")
    m2.metric("loss", f"{loss:.4f}" if math.isfinite(loss) else "–")
    m3.metric("CPU seconds", f"{cpu:.1f}", help="Processor time of the training steps (one thread).")
    m4.metric("CLIP tokens seen", f"{len(run.seen_ids)}" if run.trained is not None else "–",
              help="Pieces that appeared in a training caption: every other piece of CLIP's 49,408 keeps its "
                   "random initial embedding.")
    left, right = st.columns(2)
    with left:
        spec_chart(training_charts.loss_spec(history, None, title="Flow-matching loss"))
    with right:
        grid = live.grid if training else _final_grid(run)
        if grid is not None:
            st.image(grid_png(grid, cols=5, tile=6), width="stretch",
                     caption=f"zero … nine, at step {live.grid_step if training else run.steps_done:,} "
                             "(the same starting noise each time, 4 Euler steps, w = 2)")


def _final_grid(run):
    from models.text_to_image.lesson import digit_grid

    if run.model is None:
        return None
    return session.cached(("grid", run.id, run.steps_done), lambda: digit_grid(run.model))
