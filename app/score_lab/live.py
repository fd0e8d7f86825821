"""The Score lab's live progress: two fragments redraw it without rerunning the page.

The numbers refresh twice a second while training (every 2 s while waiting in line). Charts cost far
more to send, and every redraw briefly takes the GIL from the training thread, so they refresh once a
second.
"""

from __future__ import annotations

import math

import streamlit as st

from app.score_lab import session
from app.score_lab.controls import on_cpu_fallback
from app.ui import charts, training_charts
from app.ui.job_status import live_history, release_finished_job, training_progress
from app.ui.presentation import spec_chart
from models.lab.run import TrainingProgress, progress_of
from models.score import run as training_run
from models.score.defaults import default_settings
from models.score.floors import population_loss_floor

ss = st.session_state


def live_ui(run) -> None:
    """Start the two fragments at the rates the job's state asks for."""
    state = run.job.state if run is not None and run.job is not None else None
    ss["sl_page_state"] = state  # the status fragment reruns the whole page when the job's state moves on
    release_finished_job(run)
    st.fragment(run_every={"running": 0.5, "queued": 2.0}.get(state))(live_status)()
    st.fragment(run_every=1.0 if state == "running" else None)(live_charts)()


def live_status() -> None:
    """Where the job is, and the numbers: step, loss, the floors, speed."""
    run = session.current_run()
    if run is None:
        _start_hint()
        return
    job = run.job
    if job is None or job.state != "running":  # while training, the progress bar says where it is (one line less:
        st.caption(f"Model: {run.describe()}")  # the loss and the live samples fit on a projector's screen)
    if job is not None and job.state != ss.get("sl_page_state"):
        st.rerun()  # queued → running → finished: the whole page changes (polling rates, results section)
    snap = progress_of(job)
    if job is not None and job.state == "queued":
        ahead = max(job.queue_position - 1, 0)
        where = (f"{ahead} more job{' waits' if ahead == 1 else 's wait'} ahead of yours" if ahead
                 else "yours is next, once a running job finishes")
        st.info(f"Waiting in line: {where} (the server trains a few models at a time).",
                icon=":material/hourglass_top:")
        return
    _job_state(run, snap)
    _numbers(run, snap)


def _start_hint() -> None:
    steps = (ss.get("sl_defaults") or default_settings(None)).steps
    st.caption(f"Press **Train** to start. The defaults for this data ({steps:,} steps) were chosen by measurement "
               "so the final samples match the data (docs/defaults.md): about half a minute for a "
               "shape on a quiet 2-core laptop, minutes for a word or while others train. The live samples show "
               "the shape long before the end.")


def _job_state(run, snap: TrainingProgress) -> None:
    """Training: a progress bar. Stopped, failed: what happened and what to do next."""
    job = run.job
    if job is not None and job.state == "running":
        training_progress(run, snap)
    elif job is not None and job.state == "cancelled":
        st.warning(f"Stopped at step {run.steps_done:,} of {run.target_steps:,}. Press **Resume** to continue "
                   "the same network.", icon=":material/pause:")
    elif job is not None and job.state == "failed":
        st.error(training_run.error_message(job), icon=":material/error:")
        kind = training_run.classify_error(job.exception)
        if kind == "diverged" and run.steps_done > 0:
            st.caption(f"The weights from step {run.steps_done:,} are still usable below.")
        if kind == "device":
            st.button("Train on the CPU instead", key="sl_cpu_fallback", on_click=on_cpu_fallback,
                      icon=":material/memory:")


def _numbers(run, snap: TrainingProgress) -> None:
    job = run.job
    training = job is not None and job.state == "running"
    history = live_history(run, snap)
    floor = run.loss_floor()
    last = history[-1] if history else None
    m1, m2, m3, m4 = st.columns(4)
    # the last logged window can end a few steps before a stop: a stopped run shows where it stopped
    step_now = int(run.steps_done if snap.step is None else snap.step) if training else run.steps_done
    m1.metric("step", f"{step_now:,}")
    m2.metric("loss", f"{last['loss']:.4f}" if last and math.isfinite(last["loss"]) else "–")
    population = None if floor is None or run.data is None or run.loss_floors is None else session.cached(
        ("population_floor", run.id), lambda: population_loss_floor(run.data.spec, run.loss_floors,
                                                                    run.data.spread, run.objective))
    m3.metric("floor of the training set", f"{floor:.4f}" if floor is not None else "–",
              delta=f"population {population:.4f}" if population is not None else None, delta_color="off",
              delta_arrow="off",
              help="The loss of the exact score of the training points: no network does better on those points "
                   "on average. At the smallest σ it is a memorizing model's loss; the population floor (shown "
                   "for a known mixture) is what a generalizing network can reach."
                   + ("" if floor is not None or run.loaded is not None else " Being computed during training…"))
    if training:  # over the last few seconds, as the average below is over the whole run
        sps, label = training_charts.recent_rate(history), "steps / s"
    else:  # a finished run: the average, not the last window's rate
        seconds = run.trainer.state.seconds if run.trainer is not None else 0.0
        sps, label = (run.steps_done / seconds if seconds > 0 else None), "steps / s (average)"
    m4.metric(label, f"{sps:,.0f}" if sps and math.isfinite(sps) else "–")


def live_charts() -> None:
    """The loss, and beside it the live samples while training (one screen on a projector), else the loss
    per noise level; below them while training the loss per level and the speed."""
    run = session.current_run()
    if run is None or (run.job is not None and run.job.state == "queued"):
        return
    job = run.job
    training = job is not None and job.state == "running"
    snap = progress_of(job) if training else TrainingProgress()
    history = (snap.history or []) if training else run.history
    c1, c2 = st.columns(2)
    with c1:
        title = "Loss (mean over the noise levels)" if run.kind == "ncsn" else "Loss"
        spec_chart(training_charts.loss_spec(history, run.loss_floor(), title=title))
        if run.objective != "dsm":
            st.caption("Sliced and implicit score matching: the loss equals the DSM loss minus 1 (half the "
                       "dimension), so near the optimum it is **negative**. That is expected, not a bug: only the "
                       "distance to the floor means anything.")
    with c2:
        if training:
            _live_samples(run, snap)
        else:
            _per_sigma(run, history)
    if not training:
        if history and job is not None:
            with st.expander("Training speed"):
                spec_chart(training_charts.speed_spec(history))
        return
    c3, c4 = st.columns(2)
    with c3:
        _per_sigma(run, history)  # a one-σ network has no ladder: the speed takes its place
    with c4 if run.kind == "ncsn" else c3:
        spec_chart(training_charts.speed_spec(history))


def _per_sigma(run, history: list[dict]) -> None:
    if run.kind == "ncsn" and run.model() is not None:
        sig = [float(s) for s in run.model().sigmas]
        spec_chart(training_charts.per_sigma_spec(history, sig, run.level_floors))
    elif run.kind == "ncsn" and run.job is not None:
        st.caption("Per-σ losses appear once the network is built.")


def _live_samples(run, snap: TrainingProgress) -> None:
    preview = snap.preview
    if preview is None or run.data is None:
        st.caption("The live samples appear here after the first few steps.")
        return
    domain = session.cached(("domain", run.id), lambda: charts.square_domain(run.data.points))
    backdrop = session.cached(("backdrop", run.id), lambda: training_charts.samples_rows(run.data.points, "data", 600))
    # a constant title keeps the chart's spec the same, so the browser only swaps the points
    spec_chart(training_charts.samples_spec(preview, backdrop, domain=domain,
                                            title=f"Live samples ({len(preview)}, quick sampler)"))
    st.caption(f"From the network at step {snap.preview_step or 0:,}.")
