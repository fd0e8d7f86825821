"""What a trained (or loaded) Score lab model learned: samples against the data with their metrics, the
learned score field, and the sampling movie.

Every result is memoized per run and step count (app/score_lab/session.py `cached`), so moving a
slider redraws without sampling again.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import streamlit as st

from app.score_lab import session
from app.ui import charts
from app.ui.presentation import chart
from app.ui.trajectory_player import trajectory_player
from models.lab import metrics
from models.lab.datasets import dataset_mixture
from models.score import run as training_run
from models.score.animation import gif_bytes
from models.score.defaults import default_settings
from models.score.experiments import LOG_DENSITY_CELLS, model_log_density

SAMPLER_LABELS = {"annealed": "annealed Langevin", "denoise": "denoising (ancestral)", "pc": "predictor–corrector",
                  "ode": "probability-flow ODE"}
N_SAMPLES = training_run.RESULT_SAMPLES  # the worker draws the first ones when training ends (run.drawn)


@dataclass(frozen=True)
class View:
    """The run being shown, its training points (None for a model loaded without them) and the plot domain."""

    run: training_run.TrainingRun
    model: object
    train_pts: np.ndarray | None
    domain: tuple[float, float]


def results_ui(run: training_run.TrainingRun) -> None:
    view = _view(run)
    st.subheader("What the model learned")
    if run.job is not None and run.job.state == "failed" and training_run.classify_error(run.job.exception) == "diverged":
        st.caption("These come from the last weights before the loss blew up.")
    sampler, steps_per_level = _sampler_ui(view)
    key = (run.id, run.steps_done, sampler, steps_per_level)
    with st.spinner("Sampling…"):
        result = session.cached(("samples",) + key, lambda: run.drawn.get(key[1:]) or training_run.draw_samples(
            view.model, sampler, n=N_SAMPLES, seed=view.model.config.seed, steps_per_level=steps_per_level or 20))
    samples = result.samples.numpy()
    c1, c2 = st.columns([3, 2], gap="large")
    with c1:
        chart(charts.scatter(samples, view.train_pts, domain=view.domain, max_points=2000, size=420,
                             title=f"{len(samples):,} samples vs the training data"))
    with c2:
        _sample_metrics(run, samples, key)
    tab_field, tab_movie = st.tabs(["Score field", "Sampling, step by step"])
    with tab_field:
        _score_field(view)
    with tab_movie:
        _sampling_movie(view, result, sampler)


def _view(run: training_run.TrainingRun) -> View:
    model = run.model()
    train_pts = run.data.points.numpy() if run.data is not None else None
    domain = charts.square_domain(train_pts) if train_pts is not None else training_run.data_range(None, model)
    return View(run, model, train_pts, domain)


def _sampler_ui(view: View) -> tuple[str, int]:
    """The sampler and its Langevin steps per level (an NCSN offers four; a one-σ network has one)."""
    model, data = view.model, view.run.data
    if model.config.model == "ncsn":
        first = default_settings(data.spec if data is not None else None).sampler  # measured: defaults.py
        sampler = st.radio("Sampler", list(training_run.SAMPLERS), horizontal=True, key="sl_sampler",
                           index=list(training_run.SAMPLERS).index(first), format_func=SAMPLER_LABELS.get,
                           help="Four ways to use the same score: all should land on the data. They differ in "
                                "how they step down the noise levels (the page 'One score, many samplers').")
        steps_per_level = st.slider("Langevin steps per noise level", 5, 100, 20, step=5, key="sl_spl",
                                    disabled=sampler != "annealed")
        return sampler, steps_per_level
    st.caption(f"A denoising network knows the score at one σ = {model.sigma:.3g} only, so there is no ladder "
               f"to anneal: plain Langevin at that σ ({training_run.SINGLE_SIGMA_LANGEVIN_STEPS} steps from a Gaussian as "
               "wide as the data), then one denoising (Tweedie) step. It mixes slowly between separated parts "
               "of the data; NCSN fixes that with the ladder.")
    return "langevin", 0


def _sample_metrics(run: training_run.TrainingRun, samples: np.ndarray, key: tuple) -> None:
    """Energy distance against fresh data (and two fresh draws against each other), precision / recall,
    and for a known mixture the share of samples per mode."""
    bad = int((~np.isfinite(samples).all(1)).sum())
    if bad:
        st.warning(f"{bad} samples ran off to infinity (left out): the score is wrong far from the data.")
    if run.data is None:
        st.caption("The training data of this model is not available, so there is nothing to compare to.")
        return
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
    _mode_shares(run.data, samples)


def _mode_shares(data, samples: np.ndarray) -> None:
    mixture = dataset_mixture(data.spec.name) if data.spec.kind == "builtin" else None
    if mixture is None:
        return
    means = mixture.means_tensor()
    shares = metrics.mode_shares(samples, means, mixture.stds)
    labels = [f"({m[0]:.0f}, {m[1]:.0f})" if len(means) <= 2 else f"mode {i + 1}"
              for i, m in enumerate(means.tolist())] + ["off every mode"]
    chart(charts.bar_shares(dict(zip(labels, shares)), "Share of samples per mode",
                            reference=dict(zip(labels, list(mixture.weights) + [0.0])),
                            height=26 * len(labels) + 20))
    st.caption(f"Off every mode: farther than {metrics.OFF_MODE_STDS:g} of its std from every mode "
               "(or not finite).")


def _score_field(view: View) -> None:
    """The learned score's arrows at one σ, beside a colour map: its size, its error, or the log-density."""
    run, model, domain = view.run, view.model, view.domain
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
        chart(charts.vector_field(field["arrow_points"], field["arrows"], view.train_pts, domain=domain,
                                  size=400, title=f"Learned score at σ = {sigma:.3g}"))
    with f2:
        _colour_map(view, field, sigma)
    st.caption("Arrows show only the direction (colour = size). Dark = the score vanishes: at the modes, "
               "and at the saddles between them — dark is not the same as likely. σ·‖s‖ = ‖E[z | x]‖ grows "
               "like (distance to the data)/σ far away; at a typical noisy point it is well below 1 when σ "
               "is smaller than the data's own spread (ncsn-mixture, σ = 0.1: median 0.12). "
               + ("The reference is the exact score of the Gaussian mixture." if field["reference_kind"] == "exact"
                  else "The reference is the exact score of the smoothed training points: at small σ it "
                       "memorizes them, so a network that generalizes differs there — that is good."))


def _colour_map(view: View, field: dict, sigma: float) -> None:
    run, model, domain = view.run, view.model, view.domain
    views = (["score size"] + (["error"] if field["error"] is not None else [])
             + (["log density"] if model.config.model == "ncsn" else []))
    shown = st.radio("Colour map", views, horizontal=True, key="sl_field_view",
                     label_visibility="collapsed", format_func={"score size": "score size σ·‖s‖",
                                                                 "error": f"error vs the {field['reference_kind']} score",
                                                                 "log density": "the model's log-density"}.get)
    if shown == "log density":
        with st.spinner(f"Following {LOG_DENSITY_CELLS ** 2} probability-flow ODE paths…"):
            density = session.cached(("log_density", run.id, run.steps_done),
                                     lambda: model_log_density(model, domain))
        top = float(np.nanmax(density["log_p"]))
        chart(charts.heatmap(density["axis"], density["axis"], density["log_p"], domain=domain, size=400,
                             color_title="log p", value_range=(top - 12, top),
                             title="The model's log-density (bright = likely)"))
        st.caption("log p at σ_min of the distribution the model's probability-flow ODE draws from "
                   "(exact 2×2 divergence, 50 Heun steps): the honest \"likely place\" map. Colours "
                   "cover the top 12 nats.")
    elif shown == "error":
        chart(charts.heatmap(field["axis"], field["axis"], field["error"], domain=domain,
                             size=400, scheme="magma", color_title="σ·‖s − s_ref‖",
                             title=f"Error vs the {field['reference_kind']} score at σ = {sigma:.3g}"))
    else:
        chart(charts.heatmap(field["axis"], field["axis"], field["norm"], domain=domain, size=400,
                             color_title="σ·‖s‖", title="Score size (dark = the score vanishes)"))


def _sampling_movie(view: View, result, sampler: str) -> None:
    """The sampler's frames in the player (Play, or drag the slider), and the same frames as a looping GIF
    to download for slides. The GIF is not shown beside the player: it would loop on its own clock, at
    another frame than the one the class is looking at."""
    frames, train_pts, run = result.frames, view.train_pts, view.run
    if not frames:
        return
    backdrop = [{"x": x, "y": y} for x, y in _thin(train_pts, 600).tolist()] if train_pts is not None else []

    def download() -> None:
        # drawn when the GIF is asked for (on Streamlit's download thread), not on every visit to the results
        gif = functools.partial(gif_bytes, frames, data=_thin(train_pts), titles=result.labels, size=360,
                                max_frames=50)
        st.download_button("GIF", gif, file_name="score_lab_sampling.gif", mime="image/gif", width="stretch",
                           icon=":material/download:", key="sl_gif_download", on_click="ignore",
                           help="The same frames as a looping GIF, for slides")

    trajectory_player(frames, result.labels, backdrop, view.domain, key=f"sl_player_{run.id}_{sampler}",
                      extra=download)


def _thin(points, n: int = 2000):
    return None if points is None else charts.downsample(points, n)
