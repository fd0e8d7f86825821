"""What a trained flow shows (the sections between Train and Guidance): its velocity field, straight training lines against
curved sampling paths, quality against the number of Euler steps, reflow, and the implied score.

Each result is memoized per flow and step count (app/flow_lab/session.py `cached`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from app.flow_lab import charts as flow_charts
from app.flow_lab import session
from app.flow_lab.live import act, live_panel, ready
from app.ui import charts
from app.ui.presentation import chart
from app.ui.tables import reading_table
from models.flow import run as flow
from models.score.reference import reference_score

SIGMAS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)   # for the implied-score comparison (data coordinates)


@dataclass(frozen=True)
class TrainedFlow:
    """The main flow once trained, with what every section draws against."""

    run: flow.FlowRun
    model: object
    data: object          # its TrainingData
    points: object        # the training points (a tensor)
    domain: tuple[float, float]
    evaluation: object    # fresh points of the data, for the energy distance
    floor: float          # the energy distance between two fresh draws of the data
    key: tuple            # (run id, steps done): results are memoized under it


def trained_flow() -> TrainedFlow | None:
    """The main flow when it has trained, is not training now, and has its data; else None."""
    model, run = ready("main"), session.current("main")
    if model is None or run.data is None:
        return None
    data = run.data
    points = data.points
    domain = session.cached(("domain", run.id), lambda: charts.square_domain(points))
    evaluation = session.cached(("eval", data.spec), lambda: flow.evaluation_points(data.spec))
    floor = session.cached(("floor", data.spec), lambda: flow.ed_floor(data.spec))
    return TrainedFlow(run, model, data, points, domain, evaluation, floor, (run.id, run.steps_done))


def velocity_field_ui(f: TrainedFlow) -> None:
    """The learned velocity at one time t, beside the exact one where it is known."""
    model, data, points, domain, key = f.model, f.data, f.points, f.domain, f.key
    t = st.slider("Time t (1 = noise, 0 = data)", 0.0, 1.0, 0.5, step=0.05, key="fx_t")
    field = session.cached(("field",) + key + (t,), lambda: flow.velocity_field(model, t, domain))
    exact = session.cached(("exact_field",) + key + (t,), lambda: flow.exact_velocity_field(data.spec, model, t,
                                                                                            domain))
    f1, f2 = st.columns(2, gap="large")
    with f1:
        chart(charts.vector_field(field["arrow_points"], field["arrows"], charts.downsample(points.numpy(), 1500),
                                  domain=domain, size=360, color_title="‖v‖", title=f"Learned velocity at t = {t:.2f}"))
    how_to_read = ("The arrows are dx/dt as t *grows* (towards noise); the sampler walks against them, from t = 1 "
                   "down to 0. Near t = 1 the field points almost straight out of the middle; near t = 0 it is "
                   "shaped by the data.")
    with f2:
        if exact is not None:
            chart(charts.vector_field(exact["arrow_points"], exact["arrows"], None, domain=domain, size=360,
                                      color_title="‖v‖", title=f"Exact velocity of the mixture at t = {t:.2f}"))
        else:  # no empty column waiting for a chart: what to read in the one beside it
            st.caption(how_to_read + " For 8-gaussians the exact velocity is known in closed form and is drawn "
                                     "beside the learned one.")
    if exact is not None:
        st.caption(how_to_read)


def paths_ui(f: TrainedFlow) -> None:
    """Training pairs joined by straight lines; the learned sampling paths, which bend."""
    run, model, data, points, domain, key = f.run, f.model, f.data, f.points, f.domain, f.key
    lines = session.cached(("lines", run.id), lambda: flow.training_lines(model, data))
    learned = session.cached(("paths",) + key, lambda: flow.paths(model))
    p1, p2 = st.columns(2, gap="large")
    with p1:
        chart(charts.scatter({"data point x₀": lines["data"], "noise ε": lines["noise"]},
                             charts.downsample(points.numpy(), 1500), domain=domain, paths=lines["lines"],
                             size=360, title="Training: straight lines x₀ → ε"))
    with p2:
        chart(charts.scatter({"noise start": learned["start"], "sample": learned["end"]},
                             charts.downsample(points.numpy(), 1500), domain=domain,
                             paths=learned["learned"], size=360,
                             title="Sampling: the learned paths"))
    st.caption(f"Training lines cross each other; at a crossing the best velocity is their average, so the "
               f"learned paths curve. Bend of these paths (∫‖v‖²dt − ‖x₁ − x₀‖²; 0 only for straight paths "
               f"at constant speed, where one Euler step is exact): {learned['bend']:.3f}.")


@st.fragment
def steps_ui(f: TrainedFlow) -> None:
    """Samples with k Euler steps, their distance to the data, and the whole quality-vs-steps curve.

    Every step count of the curve is sampled once per flow (the curve needs them all anyway), and the
    slider picks among them: moving it redraws this section only, without sampling."""
    model, points, domain, evaluation, floor, key = f.model, f.points, f.domain, f.evaluation, f.floor, f.key
    every = session.cached(("at_every_step_count",) + key, lambda: {
        k: flow.samples_at_steps(model, k, evaluation, floor) for k in flow.STEP_COUNTS})
    sweep = [{"steps": k, "energy_distance": r["energy_distance"], "ratio": r["ratio"]} for k, r in every.items()]
    k = st.select_slider("Euler steps", list(every), flow.SCHNELL_STEPS, key="fx_k")
    picked = every[k]
    s1, s2 = st.columns(2, gap="large")
    with s1:
        chart(charts.scatter(picked["samples"], points.numpy(), domain=domain, size=380, max_points=2000,
                             title=f"{len(picked['samples']):,} samples with {k} Euler step{'s' if k > 1 else ''}"))
    with s2:
        st.metric("energy distance to fresh data", f"{picked['energy_distance']:.4f}")
        fresh = session.cached(("fresh_ratios", f.data.spec),
                               lambda: flow.fresh_data_ratios(f.data.spec, evaluation, floor))
        st.metric("÷ data-vs-data floor", f"{picked['ratio']:.1f}×",
                  help=f"Two fresh draws of the data are {floor:.4f} apart on average. A single fresh draw of the "
                       f"data itself lands between {fresh[0]:.1f}× and {fresh[-1]:.1f}× of that (10 draws): "
                       "anything in that band is as good as the data, and 1× is no bound.")
        chart(flow_charts.quality_vs_steps([dict(r, series="this flow") for r in sweep], highlight=k,
                                           title="Quality vs steps (log–log)"))
        st.caption("Dashed: 4 steps, FLUX.1-schnell's choice. Solid grey: 1×, the data-vs-data floor.")
    st.caption("FLUX.1-schnell generates in 4 Euler steps. It was not trained like this toy: it was trained with "
               "latent adversarial diffusion distillation (LADD) for 1–4 steps, which is what makes its 4 steps "
               "good. A plain flow, like this one, needs more.")


def reflow_ui(f: TrainedFlow) -> None:
    """Train a second flow on the first one's (noise, sample) pairs, and compare the two."""
    st.markdown("Reflow (Liu, Gong & Liu 2022) runs the trained flow from 10,000 noise draws, keeps each "
                "(noise, sample) pair, and trains a second flow on those pairs instead of random ones. Its training "
                "lines no longer cross much, so its paths are straighter.")
    reflow_run = session.current("reflow")
    r1, r2, _ = st.columns([1, 1, 2])
    if r1.button("Reflow", key="fx_reflow", disabled=session.any_running(), icon=":material/straighten:",
                 width="stretch"):
        act(session.train_reflow)
        st.rerun()
    r2.button("Stop", key="fx_reflow_stop", on_click=session.stop, args=("reflow",),
              disabled=not session.running("reflow"), icon=":material/stop:", width="stretch")
    live_panel("reflow")
    after = ready("reflow")
    if after is not None and reflow_run.parent is f.run:
        _reflow_comparison(f, reflow_run, after)


def _reflow_comparison(f: TrainedFlow, reflow_run, after) -> None:
    """Straightness and few-step quality before and after, and one-step samples of both."""
    model, points, domain, evaluation, floor, key = f.model, f.points, f.domain, f.evaluation, f.floor, f.key
    numbers = session.cached(("reflow_numbers", reflow_run.id, reflow_run.steps_done),
                             lambda: flow.reflow_numbers(model, after, evaluation, floor))
    table = pd.DataFrame({
        "": ["straightness S (0 = straight, constant speed)", "1 step: ED ÷ floor", "4 steps: ED ÷ floor"],
        "first flow": [numbers["before"]["straightness"], numbers["before"]["ratio_1"],
                       numbers["before"]["ratio_4"]],
        "after reflow": [numbers["after"]["straightness"], numbers["after"]["ratio_1"],
                         numbers["after"]["ratio_4"]]})
    reading_table(table, {"first flow": "{:.3f}", "after reflow": "{:.3f}"})
    one_after = session.cached(("at_steps", reflow_run.id, reflow_run.steps_done, 1),
                               lambda: flow.samples_at_steps(after, 1, evaluation, floor))
    one_before = session.cached(("at_steps",) + key + (1,),
                                lambda: flow.samples_at_steps(model, 1, evaluation, floor))
    q1, q2 = st.columns(2, gap="large")
    with q1:
        chart(charts.scatter(one_before["samples"], points.numpy(), domain=domain, size=320, max_points=2000,
                             title="1 step, first flow"))
    with q2:
        chart(charts.scatter(one_after["samples"], points.numpy(), domain=domain, size=320, max_points=2000,
                             title="1 step, after reflow"))
    st.caption("Reflow is how to *see* why straight paths allow few steps. It is not how FLUX.1-schnell was "
               "made (that was LADD, an adversarial distillation).")


def implied_score_ui(f: TrainedFlow) -> None:
    """The score the velocity implies at a noise level σ, beside the exact (or empirical) one."""
    model, data, domain, key = f.model, f.data, f.domain, f.key
    st.markdown("The path at time t is the (standardized) data blurred with noise σ = t/(1 − t), then shrunk by "
                "(1 − t). So the velocity gives the score the NCSN of Part 2 learns, at every σ:")
    st.latex(r"\nabla \log p_t(x) = -\frac{x + (1-t)\,v(x,t)}{t}")
    st.latex(r"\mathbb{E}[\varepsilon \mid x_t] = x + (1-t)\,v,\qquad \mathbb{E}[x_0 \mid x_t] = x - t\,v")
    sigma = st.select_slider("Noise level σ (data units)", SIGMAS, value=0.5, key="fx_sigma")
    reference = session.cached(("reference", data.spec), lambda: reference_score(data.spec, data.points))
    implied = session.cached(("implied",) + key + (sigma,),
                             lambda: flow.implied_score_field(model, reference.score, sigma, domain))
    i1, i2 = st.columns(2, gap="large")
    with i1:
        chart(charts.vector_field(implied["arrow_points"], implied["flow"], None, domain=domain, size=340,
                                  title=f"Flow's score at σ = {sigma:g}"))
    with i2:
        chart(charts.vector_field(implied["arrow_points"], implied["reference"], None, domain=domain, size=340,
                                  title=f"{reference.kind.capitalize()} score at σ = {sigma:g}"))
    st.metric(f"mean difference ÷ mean size of the {reference.kind} score", f"{implied['relative_error']:.2f}")
    st.caption("The " + ("exact score of the Gaussian mixture." if reference.kind == "exact" else
                         "exact score of the blurred training points (at small σ it memorizes them; a network "
                         "that generalizes differs there).")
               + " Same vector field, up to the conversion: a flow model is a score model in disguise.")
