"""Score lab: pick 2-D data, press Train, watch the loss fall and the samples take shape.

A script of widgets: the computation lives in models/score/run.py (the training-run front
door), this tab's run is kept by app/score_lab/session.py, the training runs in the shared
job pool, and two fragments redraw its progress (numbers twice a second, charts once a
second) without rerunning the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import streamlit as st

from app.ui import charts, presentation
from app.score_lab import session
from app.ui import training_charts
from app.score_lab.drawing_canvas import drawing_source_ui
from app.ui.trajectory_player import trajectory_player
from app.ui.resources import remember_upload, session_id
from models.core.devices import available_devices
from models.core.errors import InputError
from models.core.jobs import OneJobPerSession
from models.lab import metrics
from models.lab.datasets import DATASET_DESCRIPTIONS, DATASET_NAMES, DatasetSpec, dataset_mixture, read_points_csv
from models.lab.uploads import save_upload
from models.score import checkpoints
from models.score import run as training_run
from models.score.animation import gif_bytes
from models.score.defaults import default_settings
from models.score.experiments import LOG_DENSITY_CELLS, model_log_density
from models.score.floors import population_loss_floor
from models.score.noise import default_sigma_max, default_sigma_min
from models.score.trainer import TrainConfig, default_single_sigma

ss = st.session_state
DEFAULTS = TrainConfig()
SOURCES = ("built-in shape", "a word", "your drawing", "your CSV")
OBJECTIVE_LABELS = {"dsm": "denoising score matching (dsm)", "sliced": "sliced score matching",
                    "implicit": "implicit score matching (Hyvärinen)"}
MODEL_LABELS = {"ncsn": "NCSN: one network for every σ", "single-sigma": "denoising score network at one σ"}
SETTINGS = {  # widget key → default; persist_state="session" keeps them across page switches
    "sl_source": SOURCES[0], "sl_dataset": "moons", "sl_text": "DIFFUSION", "sl_model": "ncsn",
    "sl_objective": "dsm", "sl_auto_ladder": True, "sl_sigma_max": None, "sl_sigma_min": None,
    "sl_levels": DEFAULTS.levels, "sl_sigma": None, "sl_steps": DEFAULTS.steps, "sl_batch": DEFAULTS.batch_size,
    "sl_lr": DEFAULTS.lr, "sl_device": "cpu", "sl_seed": DEFAULTS.seed,
}


KEEP = "session"  # widgets' persist_state: the settings survive a visit to another page


@dataclass
class Settings:
    """What the sidebar asks for: a dataset and a config, or the reason there is none."""

    spec: DatasetSpec | None
    config: TrainConfig | None
    data: object | None        # the TrainingData of `spec`, for the preview and the ladder defaults
    error: str | None          # why spec/config is missing (one line), else None
    extra_steps: int           # "Train more" adds this many steps


def _show(chart, width="stretch") -> None:
    """st.altair_chart filling its column, with the chart's title as its accessible name (big charts draw
    on a canvas, where that name is all a screen reader — or a browser test — can see)."""
    presentation.chart(chart, width=width)


def _show_spec(spec: dict, width="stretch") -> None:
    """A Vega-Lite dict from training_charts' spec builders (cheap to redraw twice a second)."""
    presentation.spec_chart(spec, width=width)


# ----------------------------------------------------------------------------- button callbacks

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


def _on_cpu_fallback() -> None:
    ss["sl_device"] = "cpu"
    ss.pop("sl_error", None)
    try:
        session.retrain_on_cpu()
    except OneJobPerSession as exc:
        ss["sl_error"] = str(exc)


def _on_reset() -> None:
    ss.pop("sl_error", None)
    session.reset()


# ----------------------------------------------------------------------------- intro

st.title("Score lab")
st.caption("Pick 2-D data, press **Train**, and watch the loss fall and the samples take shape.")
with st.expander("How it works, and what to notice",
                 expanded=session.current_run() is None and not presentation.active(),  # closed on a projector
                 icon=":material/school:"):
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.markdown(
            "A small network learns the **score** s(x, σ) ≈ ∇ log p_σ(x) of the data blurred with noise of "
            "size σ: an arrow at every point towards *more likely*. It only ever sees noisy copies x̃ = x + σz "
            "and learns to point back (denoising score matching):")
        st.latex(r"\mathcal{L}(\sigma) = \tfrac12\,\mathbb{E}_{x,\,z}\,\big\|\,\sigma\, s_\theta(x+\sigma z,\ \sigma)"
                 r" + z\,\big\|^2")
        st.markdown("NCSN trains one network for a ladder of noise levels, from σ_max (as wide as the data) "
                    "down to σ_min (an invisible blur), and averages the loss over it:")
        st.latex(r"\sigma_i = \sigma_{\max}\Big(\frac{\sigma_{\min}}{\sigma_{\max}}\Big)^{\frac{i-1}{L-1}},"
                 r"\quad i = 1,\dots,L")
        st.markdown("Sampling climbs the learned score with a little noise, level by level (annealed Langevin):")
        st.latex(r"x \leftarrow x + \tfrac{\alpha_i}{2}\, s_\theta(x, \sigma_i) + \sqrt{\alpha_i}\, z,"
                 r"\qquad \alpha_i = \varepsilon\, \sigma_i^2 / \sigma_L^2")
    with right:
        st.info(
            "**What to notice**\n\n"
            "- The loss never reaches 0: no network can tell exactly which noise z was added. The dashed "
            "line is the **floor of the training set**, the loss of the exact score of the training points. "
            "At the smallest σ that is the loss of a model that has *memorized* those points (ncsn-mixture, "
            "10,000 points, σ = 0.041: 0.88, against 1.00 for the population). A network that generalizes "
            "stays above it there; reaching it would mean memorizing. For a known mixture the population "
            "floor is shown beside it.\n"
            "- Big σ: small loss, the arrows just point to the middle. Small σ: the loss tends to d/2 = 1, "
            "because once the noise is far smaller than the data's own spread, x̃ says almost nothing "
            "about z.\n"
            "- The live samples go from a blob to the shape: coarse structure first, fine detail last.\n"
            "- After training, compare the arrows at a large and a small σ, and play the sampling movie: "
            "noise becomes data, level by level.",
            icon=":material/visibility:")

# ----------------------------------------------------------------------------- settings (sidebar)

def _data_source_ui() -> DatasetSpec:
    """Data: a built-in shape, a word, a drawing, or an uploaded CSV (InputError until there is one)."""
    source = st.radio("Data", SOURCES, key="sl_source", persist_state=KEEP, horizontal=True)
    if source == SOURCES[0]:
        name = st.selectbox("Dataset", DATASET_NAMES, key="sl_dataset", persist_state=KEEP)
        st.caption(DATASET_DESCRIPTIONS[name])
        return DatasetSpec.builtin(name)
    if source == SOURCES[1]:
        text = st.text_input("Word to draw as points", key="sl_text", persist_state=KEEP, max_chars=24,
                             help="Up to 24 letters, digits or punctuation, drawn with a built-in font.")
        return DatasetSpec.from_text(text or "")
    if source == "your drawing":
        return drawing_source_ui()
    upload = st.file_uploader("CSV of x,y points", type=["csv", "txt"], key="sl_csv_upload",
                              help="Two columns of numbers (a header x,y is optional), 10 to 200,000 rows.")
    if upload is not None and ss.get("sl_csv_id") != upload.file_id:
        ss["sl_csv_id"] = upload.file_id
        ss.pop("sl_csv_path", None)
        ss.pop("sl_csv_error", None)
        try:
            points = read_points_csv(upload)
            path = save_upload(upload.name, upload.getvalue(), owner=session_id())
            remember_upload(path)
            ss["sl_csv_path"] = str(path)
            ss["sl_csv_info"] = f"{upload.name}: {len(points):,} points"
        except InputError as exc:
            ss["sl_csv_error"] = str(exc)
    if ss.get("sl_csv_error"):
        st.error(ss.sl_csv_error, icon=":material/error:")
    elif ss.get("sl_csv_path"):
        st.caption(ss.get("sl_csv_info", ""))
    if not ss.get("sl_csv_path"):
        raise InputError("upload a CSV file of x,y points first (or pick a built-in shape)")
    return DatasetSpec.csv(ss.sl_csv_path)


def _ladder_ui(model: str, data) -> dict:
    """The noise levels: from the data (shown) or typed in. Returns TrainConfig's σ fields."""
    if data is not None:
        d_max, d_min, d_sigma = session.cached(("ladder", data.spec, int(ss.sl_seed)), lambda: (
            default_sigma_max(data.points), default_sigma_min(data.points), default_single_sigma(data.points)))
    else:
        d_max, d_min, d_sigma = 3.0, 0.01, 0.1
    auto = st.checkbox("Noise levels from the data", key="sl_auto_ladder", persist_state=KEEP,
                       help="σ_max = the largest distance between data points; σ_min = 1% of the data's spread "
                            "(denoising network: σ = 10% of the spread).")
    levels = ss.sl_levels
    if model == "ncsn":
        if auto:
            st.caption(f"σ_max = {d_max:.3g}, σ_min = {d_min:.3g} (from the data)")
            ss.sl_sigma_max, ss.sl_sigma_min = None, None
        else:
            if ss.sl_sigma_max is None:
                ss.sl_sigma_max = float(f"{d_max:.3g}")
            if ss.sl_sigma_min is None:
                ss.sl_sigma_min = float(f"{d_min:.3g}")
            st.number_input("σ_max", key="sl_sigma_max", persist_state=KEEP, min_value=1e-4, format="%.4g")
            st.number_input("σ_min", key="sl_sigma_min", persist_state=KEEP, min_value=1e-5, format="%.4g")
        levels = st.slider("Noise levels L", 2, 30, key="sl_levels", persist_state=KEEP)
        return {"sigma": None, "sigma_max": ss.sl_sigma_max, "sigma_min": ss.sl_sigma_min, "levels": levels}
    if auto:
        st.caption(f"σ = {d_sigma:.3g} (from the data)")
        ss.sl_sigma = None
    else:
        if ss.sl_sigma is None:
            ss.sl_sigma = float(f"{d_sigma:.3g}")
        st.number_input("σ", key="sl_sigma", persist_state=KEEP, min_value=1e-5, format="%.4g")
    return {"sigma": ss.sl_sigma, "sigma_max": None, "sigma_min": None, "levels": levels}


def _follow_source_defaults(spec: DatasetSpec) -> None:
    """Steps, batch and learning rate follow the data's defaults (models/score/defaults.py) when the
    source changes; a value the student changed by hand stays as they set it."""
    new, old = default_settings(spec), ss.get("sl_defaults")
    if new == old:
        return
    for key, name in (("sl_steps", "steps"), ("sl_batch", "batch_size"), ("sl_lr", "lr")):
        if old is None or ss.get(key) == getattr(old, name):
            ss[key] = getattr(new, name)
    ss["sl_defaults"] = new


def training_settings_ui() -> Settings:
    """The sidebar: every training setting, returned as one Settings."""
    for key, default in SETTINGS.items():
        ss.setdefault(key, default)
    st.header("Training settings")
    spec, data, error = None, None, None
    try:
        spec = _data_source_ui()
        _follow_source_defaults(spec)
        data = session.load_data(spec, int(ss.sl_seed))
    except InputError as exc:
        error = str(exc)
    model = st.radio("Model", list(MODEL_LABELS), key="sl_model", persist_state=KEEP, format_func=MODEL_LABELS.get)
    objective = st.selectbox("Objective", list(OBJECTIVE_LABELS), key="sl_objective", persist_state=KEEP,
                             format_func=OBJECTIVE_LABELS.get,
                             help="All three learn the same score. Sliced and implicit score matching need no z "
                                  "or clean-point target, but a Jacobian trace (the divergence of s); their "
                                  "losses are the DSM loss minus 1: negative near the optimum.")
    ladder = _ladder_ui(model, data)
    steps = st.number_input("Training steps", min_value=10, max_value=training_run.MAX_STEPS_PER_JOB, step=500,
                            key="sl_steps", persist_state=KEEP,
                            help=f"At most {training_run.MAX_STEPS_PER_JOB:,} per press, so a shared server stays "
                                 "fair: press Train more to continue the same network.")
    batch = st.select_slider("Batch size", [32, 64, 128, 256, 512, 1024, 2048], key="sl_batch", persist_state=KEEP)
    lr = st.number_input("Learning rate", min_value=1e-6, max_value=100.0, step=1e-3, format="%g", key="sl_lr",
                         persist_state=KEEP, help="Adam, with a cosine decay to 5% over the run. Try 10 to see a run "
                                                  "blow up.")
    devices = available_devices()
    if ss.sl_device not in devices:
        ss.sl_device = "cpu"
    device = st.selectbox("Device", devices, key="sl_device", persist_state=KEEP,
                          format_func={"cpu": "CPU", "cuda": "CUDA GPU", "mps": "Apple GPU (MPS)"}.get)
    seed = st.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="sl_seed", persist_state=KEEP)
    config = None
    try:
        config = training_run.training_config(model=model, objective=objective, steps=steps, batch_size=batch,
                                              lr=lr, device=device, seed=seed,
                                              hidden=default_settings(spec).hidden, **ladder)
    except InputError as exc:
        error = error or str(exc)
    return Settings(spec, config, data, error, int(steps))


# ----------------------------------------------------------------------------- data + buttons

with st.sidebar:
    settings = training_settings_ui()
run = session.current_run()
running = run is not None and run.running
with st.container():  # the buttons get the full width: four labels must fit beside an open sidebar
    b1, b2, b3, b4 = st.columns(4)
    # Train and Resume act in the script, not in a callback: they need this run's settings (a value
    # typed into the sidebar arrives together with the click; a callback would see the old one).
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
                 help="Continue training the same network (same weights, same optimizer): to the end of the run "
                      "if it was stopped, else for another 'Training steps' steps."):
        _on_resume(settings.extra_steps)
        st.rerun()
    b4.button("Reset", key="sl_reset", on_click=_on_reset, disabled=run is None,
              icon=":material/restart_alt:", width="stretch")
    if ss.get("sl_error"):
        st.error(ss.sl_error, icon=":material/error:")
    if run is not None and run.trainer is not None and not running:
        if settings.config != run.config or settings.spec != run.data.spec:
            st.caption("Settings changed since this model was trained: press **Train** to start a new one.")
if settings.error:
    st.warning(settings.error, icon=":material/warning:")
elif settings.data is not None and (run is None or run.data is None or run.data.spec != settings.spec):
    _show(charts.scatter(None, settings.data.points, title=f"Data: {settings.spec.describe()}",
                         max_points=1500, size=260))


# ----------------------------------------------------------------------------- live progress (fragment)

def _live_status() -> None:
    """Progress and numbers: redrawn every 0.5 s while training (2 s while waiting in line)."""
    run = session.current_run()
    if run is None:
        steps = (ss.get("sl_defaults") or default_settings(None)).steps
        st.caption(f"Press **Train** to start. The defaults for this data ({steps:,} steps) were chosen by measurement "
                   "so the final samples match the data (README, *One-click defaults*): about half a minute for a "
                   "shape on a quiet 2-core laptop, minutes for a word or while others train. The live samples show "
                   "the shape long before the end.")
        return
    st.caption(f"Model: {run.describe()}")
    job = run.job
    if job is not None and job.state != ss.get("sl_page_state"):
        st.rerun()  # queued → running → finished: the whole page changes (polling rates, results section)
    snap = job.snapshot() if job is not None else {}
    history = run.history if (job is None or job.is_finished) else (snap.get("history") or [])
    if job is not None and job.state == "queued":
        ahead = max(job.queue_position - 1, 0)
        where = (f"{ahead} more job{' waits' if ahead == 1 else 's wait'} ahead of yours" if ahead
                 else "yours is next, once a running job finishes")
        st.info(f"Waiting in line: {where} (the server trains a few models at a time).",
                icon=":material/hourglass_top:")
        return
    if job is not None and job.state == "running":
        step, total = int(snap.get("step", run.steps_done)), max(int(snap.get("total", run.target_steps)), 1)
        phase = snap.get("phase", "starting")
        st.progress(min(step / total, 1.0), text=f"{phase}: step {step:,} / {total:,}" if phase == "training"
                    else f"{phase}…")
    elif job is not None and job.state == "cancelled":
        st.warning(f"Stopped at step {run.steps_done:,} of {run.target_steps:,}. Press **Resume** to continue "
                   "the same network.", icon=":material/pause:")
    elif job is not None and job.state == "failed":
        st.error(training_run.error_message(job), icon=":material/error:")
        kind = training_run.classify_error(job.exception)
        if kind == "diverged" and run.steps_done > 0:
            st.caption(f"The weights from step {run.steps_done:,} are still usable below.")
        if kind == "device":
            st.button("Train on the CPU instead", key="sl_cpu_fallback", on_click=_on_cpu_fallback,
                      icon=":material/memory:")

    floor = run.loss_floor()
    last = history[-1] if history else None
    m1, m2, m3, m4 = st.columns(4)
    # the last logged window can end a few steps before a stop: a stopped run shows where it stopped
    step_now = int(snap.get("step", run.steps_done)) if job is not None and job.state == "running" else run.steps_done
    m1.metric("step", f"{step_now:,}")
    m2.metric("loss", f"{last['loss']:.4f}" if last and math.isfinite(last["loss"]) else "–")
    population = None if floor is None or run.data is None else session.cached(
        ("population_floor", run.id), lambda: population_loss_floor(run.data.spec, run.loss_floors,
                                                                    run.data.spread, run.objective))
    m3.metric("floor of the training set", f"{floor:.4f}" if floor is not None else "–",
              delta=f"population {population:.4f}" if population is not None else None, delta_color="off",
              delta_arrow="off",
              help="The loss of the exact score of the training points: no network does better on those points "
                   "on average. At the smallest σ it is a memorizing model's loss; the population floor (shown "
                   "for a known mixture) is what a generalizing network can reach."
                   + ("" if floor is not None or run.loaded is not None else " Being computed during training…"))
    if job is not None and job.state == "running":
        sps, label = (last or {}).get("steps_per_second"), "steps / s"
    else:  # a finished run: the average, not the last window's rate
        seconds = run.trainer.state.seconds if run.trainer is not None else 0.0
        sps, label = (run.steps_done / seconds if seconds > 0 else None), "steps / s (average)"
    m4.metric(label, f"{sps:,.0f}" if sps and math.isfinite(sps) else "–")


def _live_charts() -> None:
    """Loss charts (and, while training, the live samples and the speed): redrawn every second.

    Charts cost far more to send than numbers, and every redraw briefly takes the GIL from the
    training thread, so they refresh at half the rate of the progress bar.
    """
    run = session.current_run()
    if run is None or (run.job is not None and run.job.state == "queued"):
        return
    job = run.job
    training = job is not None and job.state == "running"
    snap = job.snapshot() if training else {}
    history = (snap.get("history") or []) if training else run.history
    c1, c2 = st.columns(2)
    with c1:
        title = "Loss (mean over the noise levels)" if run.kind == "ncsn" else "Loss"
        _show_spec(training_charts.loss_spec(history, run.loss_floor(), title=title))
        if run.objective != "dsm":
            st.caption("Sliced and implicit score matching: the loss equals the DSM loss minus 1 (half the "
                       "dimension), so near the optimum it is **negative**. That is expected, not a bug: only the "
                       "distance to the floor means anything.")
    with c2:
        if run.kind == "ncsn" and run.model() is not None:
            sig = [float(s) for s in run.model().sigmas]
            _show_spec(training_charts.per_sigma_spec(history, sig, run.level_floors))
        elif run.kind == "ncsn" and job is not None:
            st.caption("Per-σ losses appear once the network is built.")
    if not training:
        if history and job is not None:
            with st.expander("Training speed"):
                _show_spec(training_charts.speed_spec(history))
        return
    c3, c4 = st.columns(2)
    preview = snap.get("preview")
    with c3:
        if preview is not None and run.data is not None:
            domain = session.cached(("domain", run.id), lambda: charts.square_domain(run.data.points))
            backdrop = session.cached(("backdrop", run.id),
                                        lambda: training_charts.samples_rows(run.data.points, "data", 600))
            # a constant title keeps the chart's spec the same, so the browser only swaps the points
            _show_spec(training_charts.samples_spec(preview, backdrop, domain=domain,
                                                    title=f"Live samples ({len(preview)}, quick sampler)"))
            st.caption(f"From the network at step {snap.get('preview_step', 0):,}.")
    with c4:
        _show_spec(training_charts.speed_spec(history))


state = run.job.state if run is not None and run.job is not None else None
ss["sl_page_state"] = state  # the status fragment reruns the whole page when the job's state moves on
if run is not None and run.job is not None and run.job.is_finished:
    run.job.result = None  # the run lives in session state; drop the pool's reference
    if run.job.snapshot().get("preview") is not None:
        run.job.report(preview=None, history=None)  # free the job's copies
st.fragment(run_every={"running": 0.5, "queued": 2.0}.get(state))(_live_status)()
st.fragment(run_every=1.0 if state == "running" else None)(_live_charts)()


# ----------------------------------------------------------------------------- results

def _results(run: training_run.TrainingRun) -> None:
    model = run.model()
    data = run.data
    train_pts = data.points.numpy() if data is not None else None
    domain = charts.square_domain(train_pts) if train_pts is not None else training_run.data_range(None, model)
    st.subheader("What the model learned")
    if run.job is not None and run.job.state == "failed" and training_run.classify_error(run.job.exception) == "diverged":
        st.caption("These come from the last weights before the loss blew up.")

    # --- samples vs data
    if model.config.model == "ncsn":
        first = default_settings(data.spec if data is not None else None).sampler  # measured: defaults.py
        sampler = st.radio("Sampler", list(training_run.SAMPLERS), horizontal=True, key="sl_sampler",
                           index=list(training_run.SAMPLERS).index(first),
                           format_func={"annealed": "annealed Langevin",
                                        "denoise": "denoising (ancestral)",
                                        "pc": "predictor–corrector",
                                        "ode": "probability-flow ODE"}.get,
                           help="Four ways to use the same score: all should land on the data. They differ in "
                                "how they step down the noise levels (the page 'One score, many samplers').")
        steps_per_level = st.slider("Langevin steps per noise level", 5, 100, 20, step=5, key="sl_spl",
                                    disabled=sampler != "annealed")
    else:
        sampler, steps_per_level = "langevin", 0
        st.caption(f"A denoising network knows the score at one σ = {model.sigma:.3g} only, so there is no ladder "
                   f"to anneal: plain Langevin at that σ ({training_run.SINGLE_SIGMA_LANGEVIN_STEPS} steps from a Gaussian as "
                   "wide as the data), then one denoising (Tweedie) step. It mixes slowly between separated parts "
                   "of the data; NCSN fixes that with the ladder.")
    key = (run.id, run.steps_done, sampler, steps_per_level)
    with st.spinner("Sampling…"):
        result = session.cached(("samples",) + key, lambda: training_run.draw_samples(
            model, sampler, n=2000, seed=model.config.seed, steps_per_level=steps_per_level or 20))
    samples = result.samples.numpy()
    bad = int((~np.isfinite(samples).all(1)).sum())

    c1, c2 = st.columns([3, 2], gap="large")
    with c1:
        _show(charts.scatter(samples, train_pts, domain=domain, max_points=2000, size=420,
                             title=f"{len(samples):,} samples vs the training data"))
    with c2:
        if bad:
            st.warning(f"{bad} samples ran off to infinity (left out): the score is wrong far from the data.")
        if data is not None:
            evaluation = session.cached(("eval", run.id), lambda: training_run.evaluation_data(run))
            ed = None if bad == len(samples) else session.cached(
                ("ed",) + key, lambda: metrics.energy_distance(samples, evaluation))
            ed_floor = session.cached(("ed_floor", run.id), lambda: metrics.energy_distance_floor(
                training_run.evaluation_sampler(run), len(evaluation)))
            ratio = f"{ed / ed_floor:.1f}× data vs data" if ed is not None and ed_floor > 0 else None
            st.metric("energy distance to fresh data", f"{ed:.4f}" if ed is not None else "–", delta=ratio,
                      delta_color="off", delta_arrow="off",
                      help="0 = the same distribution. Its scale depends on the data, so compare it with two fresh "
                           "draws of the data (the ratio): about 1× or below is as close as two draws of the data "
                           "are at this sample size. It sees missing modes and wrong weights, barely blur: read "
                           "precision and recall beside it.")
            st.metric("data vs data (the best possible)", f"{ed_floor:.4f}")
            precision, recall = session.cached(("pr",) + key, lambda: metrics.precision_recall(samples, evaluation))
            st.metric("precision / recall", f"{precision:.0%} / {recall:.0%}",
                      help="Precision: share of samples inside the 5-nearest-neighbour ball of some data point "
                           "(realistic?). Recall: share of data points inside such a ball of some sample "
                           "(all of the data covered?).")
            mixture = dataset_mixture(data.spec.name) if data.spec.kind == "builtin" else None
            if mixture is not None:
                means = mixture.means_tensor()
                shares = metrics.mode_shares(samples, means, mixture.stds)
                labels = [f"({m[0]:.0f}, {m[1]:.0f})" if len(means) <= 2 else f"mode {i + 1}"
                          for i, m in enumerate(means.tolist())] + ["off every mode"]
                _show(charts.bar_shares(dict(zip(labels, shares)), "Share of samples per mode",
                                        reference=dict(zip(labels, list(mixture.weights) + [0.0])),
                                        height=26 * len(labels) + 20))
                st.caption(f"Off every mode: farther than {metrics.OFF_MODE_STDS:g} of its std from every mode "
                           "(or not finite).")
        else:
            st.caption("The training data of this model is not available, so there is nothing to compare to.")

    tab_field, tab_movie = st.tabs(["Score field", "Sampling, step by step"])
    with tab_field:
        sigmas = [float(s) for s in model.sigmas]
        if len(sigmas) > 1:
            sigma = st.select_slider("Noise level σ", options=sigmas, value=sigmas[len(sigmas) // 2],
                                     format_func=lambda s: f"{s:.3g}", key=f"sl_field_sigma_{run.id}")
        else:
            sigma = sigmas[0]
        field = session.cached(("field", run.id, run.steps_done, sigma), lambda: training_run.score_field(
            model, training_run.run_reference_score(run), sigma, domain))
        f1, f2 = st.columns(2, gap="large")
        with f1:
            _show(charts.vector_field(field["arrow_points"], field["arrows"], train_pts, domain=domain,
                                      size=400, title=f"Learned score at σ = {sigma:.3g}"))
        with f2:
            views = (["score size"] + (["error"] if field["error"] is not None else [])
                     + (["log density"] if model.config.model == "ncsn" else []))
            view = st.radio("Colour map", views, horizontal=True, key="sl_field_view",
                            label_visibility="collapsed", format_func={"score size": "score size σ·‖s‖",
                                         "error": f"error vs the {field['reference_kind']} score",
                                         "log density": "the model's log-density"}.get)
            if view == "log density":
                with st.spinner(f"Following {LOG_DENSITY_CELLS ** 2} probability-flow ODE paths…"):
                    density = session.cached(("log_density", run.id, run.steps_done),
                                             lambda: model_log_density(model, domain))
                top = float(np.nanmax(density["log_p"]))
                _show(charts.heatmap(density["axis"], density["axis"], density["log_p"], domain=domain, size=400,
                                     color_title="log p", value_range=(top - 12, top),
                                     title="The model's log-density (bright = likely)"))
                st.caption("log p at σ_min of the distribution the model's probability-flow ODE draws from "
                           "(exact 2×2 divergence, 50 Heun steps): the honest \"likely place\" map. Colours "
                           "cover the top 12 nats.")
            elif view == "error":
                _show(charts.heatmap(field["axis"], field["axis"], field["error"], domain=domain,
                                     size=400, scheme="magma", color_title="σ·‖s − s_ref‖",
                                     title=f"Error vs the {field['reference_kind']} score at σ = {sigma:.3g}"))
            else:
                _show(charts.heatmap(field["axis"], field["axis"], field["norm"], domain=domain, size=400,
                                     color_title="σ·‖s‖", title="Score size (dark = the score vanishes)"))
        st.caption("Arrows show only the direction (colour = size). Dark = the score vanishes: at the modes, "
                   "and at the saddles between them — dark is not the same as likely. σ·‖s‖ = ‖E[z | x]‖ grows "
                   "like (distance to the data)/σ far away; at a typical noisy point it is well below 1 when σ "
                   "is smaller than the data's own spread (ncsn-mixture, σ = 0.1: median 0.12). "
                   + ("The reference is the exact score of the Gaussian mixture." if field["reference_kind"] == "exact"
                      else "The reference is the exact score of the smoothed training points: at small σ it "
                           "memorizes them, so a network that generalizes differs there — that is good."))
    with tab_movie:
        frames = result.frames
        if frames:
            m1, m2 = st.columns(2)
            with m1:
                backdrop = [{"x": x, "y": y} for x, y in _thin(train_pts, 600).tolist()] if train_pts is not None else []
                trajectory_player(frames, result.labels, backdrop, domain, key=f"sl_player_{run.id}_{sampler}")
            with m2:
                gif = session.cached(("gif",) + key, lambda: gif_bytes(frames, data=_thin(train_pts), titles=result.labels,
                                                               size=360, max_frames=50))
                st.image(gif, caption="Sampling across noise levels (plays in a loop)")
                st.download_button("Download the GIF", gif, file_name="score_lab_sampling.gif", mime="image/gif",
                                   icon=":material/download:", key="sl_gif_download")


def _thin(points, n: int = 2000):
    return None if points is None else charts.downsample(points, n)


if run is not None and not running and run.model() is not None:
    _results(run)
elif run is not None and running:
    st.caption("The sample plots, the score field and the sampling movie appear when training stops.")

# ----------------------------------------------------------------------------- save / load

with st.expander("Save or load a trained model", icon=":material/save:"):
    s1, s2 = st.columns(2)
    with s1:
        if run is not None and not running and run.model() is not None:
            blob = session.cached(("zip", run.id, run.steps_done), lambda: training_run.run_zip_bytes(run))
            st.download_button("Download model (.zip)", blob, file_name="score_lab_model.zip",
                               mime="application/zip", icon=":material/download:", key="sl_zip_download")
            st.caption("model.safetensors + config.json + losses.csv")
        else:
            st.caption("Train a model (and let it finish or stop it) to download it.")
    with s2:
        upload = st.file_uploader("Load a saved model (.zip)", type=["zip"], key="sl_zip_upload",
                                  disabled=running)
        if upload is not None and ss.get("sl_zip_id") != upload.file_id:
            ss["sl_zip_id"] = upload.file_id
            try:
                model, history = checkpoints.load_run_zip(upload.getvalue(), upload.name)
                with st.spinner("Loading the model and computing its Bayes-optimal floor…"):
                    session.set_loaded(model, history)
                ss.pop("sl_zip_error", None)
                st.rerun()
            except InputError as exc:
                ss["sl_zip_error"] = str(exc)
        if ss.get("sl_zip_error"):
            st.error(ss.sl_zip_error, icon=":material/error:")

training_run.warm_up()  # after drawing: the first Train should not wait for torch imports
