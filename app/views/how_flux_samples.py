"""How FLUX samples: flow matching in 2-D, few steps, straighter paths, guidance — Part 1 meets Part 2.

A script of widgets: every computation is in models/flow/run.py (the flow front door), this tab's
flows are kept by app/flow_lab/session.py and train in the shared job pool, and a fragment per flow
redraws its progress and live charts without rerunning the page.
"""

from __future__ import annotations


import pandas as pd
import streamlit as st

from app.flow_lab import charts as flow_charts
from app.ui import charts, presentation, training_charts
from app.flow_lab import session
from models.core.errors import InputError
from models.core.jobs import OneJobPerSession
from models.flow import run as flow
from models.flow.checkpoints import load_flow_zip
from models.flow.labels import LABELLED_DATASETS, mode_centers
from models.lab.datasets import DATASET_DESCRIPTIONS, DATASET_NAMES, DatasetSpec

ss = st.session_state
FLOW_DATASETS = [name for name in DATASET_NAMES if name != "ncsn-mixture"]
SIGMAS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)   # for the implied-score comparison (data coordinates)
STATUS = {"main": "the flow", "reflow": "the reflow", "guided": "the class-conditional flow"}


def _show(chart) -> None:
    presentation.chart(chart)  # column-wide, titled for screen readers, large text when presenting


def _show_spec(spec: dict, width="stretch") -> None:
    presentation.spec_chart(spec, width=width)


def _act(action) -> None:
    """Run a button's action; a second job of this session, or a bad setting, becomes one line on the page."""
    ss.pop("fx_error", None)
    try:
        action()
    except (OneJobPerSession, InputError) as exc:
        ss["fx_error"] = str(exc)


# ----------------------------------------------------------------------------- live progress (one per flow)

def _live(slot: str) -> None:
    run = session.current(slot)
    if run is None:
        return
    job = run.job
    if job is not None and job.state != ss.get(f"fx_state_{slot}"):
        st.rerun()  # queued → running → finished: the page below changes
    snap = job.snapshot() if job is not None else {}
    history = run.history if (job is None or job.is_finished) else (snap.get("history") or [])
    if job is not None and job.state == "queued":
        st.info("Waiting in line: the server trains a few models at a time.", icon=":material/hourglass_top:")
        return
    if job is not None and job.state == "running":
        step, total = int(snap.get("step", run.steps_done)), max(int(snap.get("total", run.target_steps)), 1)
        phase = snap.get("phase", "starting")
        st.progress(min(step / total, 1.0), text=f"{phase}: step {step:,} / {total:,}" if phase == "training"
                    else f"{phase}…")
    elif job is not None and job.state == "cancelled":
        st.warning(f"Stopped {STATUS[slot]} at step {run.steps_done:,} of {run.target_steps:,}.",
                   icon=":material/pause:")
    elif job is not None and job.state == "failed":
        st.error(f"Training failed: {job.error}", icon=":material/error:")
    c1, c2 = st.columns(2)
    with c1:
        _show_spec(training_charts.loss_spec(history, None, title=f"Loss of {STATUS[slot]}",
                                             y_title="‖v − (ε − x₀)‖²"))
    preview = snap.get("preview")
    if job is not None and job.state == "running" and preview is not None and run.data is not None:
        with c2:
            domain = session.cached(("domain", run.id), lambda: charts.square_domain(run.data.points))
            backdrop = session.cached(("backdrop", run.id),
                                      lambda: training_charts.samples_rows(run.data.points, "data", 600))
            _show_spec(training_charts.samples_spec(preview, backdrop, domain=domain,
                                                    title=f"Live samples ({len(preview)}, 20 Euler steps)"),
                       width="content")


def _live_panel(slot: str) -> None:
    run = session.current(slot)
    state = run.job.state if run is not None and run.job is not None else None
    ss[f"fx_state_{slot}"] = state
    if run is not None and run.job is not None and run.job.is_finished:
        run.job.result = None
        if run.job.snapshot().get("preview") is not None:
            run.job.report(preview=None, history=None)
    st.fragment(run_every={"running": 0.7, "queued": 2.0}.get(state))(_live)(slot)


def _ready(slot: str):
    """The slot's flow when it has trained and is not training now, else None."""
    run = session.current(slot)
    if run is None or run.running:
        return None
    return run.model()


# ----------------------------------------------------------------------------- intro

session.attach()  # a reloaded tab takes back its flows (the URL names them)
st.title("How FLUX samples")
st.caption("Part 1 meets Part 2: the images in the gallery come from a *flow*. Here is the same idea in 2-D.")
with st.expander("Flow matching in one screen", expanded=session.current("main") is None and not presentation.active(),
                 icon=":material/school:"):  # closed on a projector (presentation mode)
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.markdown("FLUX.1 is a **rectified-flow** transformer. Training draws a data point x₀, a noise draw ε and "
                    "a time t, and mixes them on a straight line (t = 1 is pure noise):")
        st.latex(r"x_t = (1-t)\,x_0 + t\,\varepsilon")
        st.markdown("The network learns the velocity along that line, ε − x₀ (the same loss FLUX uses):")
        st.latex(r"\mathcal{L} = \mathbb{E}_{x_0,\,\varepsilon,\,t}\,\big\|\,v_\theta(x_t, t) - "
                 r"(\varepsilon - x_0)\,\big\|^2")
        st.markdown("Sampling solves dx/dt = v from noise at t = 1 back to t = 0 with Euler steps "
                    "(FLUX.1-schnell takes **4**):")
        st.latex(r"x \leftarrow x + (t_{i+1} - t_i)\, v_\theta(x, t_i)")
        st.latex(r"1 = t_0 > t_1 > \dots > t_K = 0")
    with right:
        st.info("**What to notice**\n\n"
                "- The training lines are straight, but lines of different pairs cross; the network can only "
                "learn their average there, so the learned paths **bend**.\n"
                "- Bent paths need several steps: one Euler step lands every sample near the data's mean.\n"
                "- **Reflow** retrains on the flow's own (noise, sample) pairs: the paths straighten and few "
                "steps get better.\n"
                "- The velocity is the score of Part 2 in disguise: ∇log p_t(x) = −(x + (1 − t)·v)/t.",
                icon=":material/visibility:")

if ss.get("fx_error"):
    st.error(ss.fx_error, icon=":material/error:")

# ----------------------------------------------------------------------------- 1. train

st.header("1 · Train a flow")
c1, c2, c3 = st.columns(3)
dataset = c1.selectbox("Data", FLOW_DATASETS, key="fx_dataset", help="Built-in 2-D shapes (the Score lab's).")
c1.caption(DATASET_DESCRIPTIONS[dataset])
time_sampling = c2.radio("Training times t", ["logit-normal", "uniform"], key="fx_times", horizontal=True,
                         help="Logit-normal (SD3/FLUX) draws more t's in the middle of the path, where the "
                              "velocity is hardest to guess; uniform is the original rectified flow.")
steps = c3.number_input("Training steps", min_value=100, max_value=20_000, value=2000, step=500, key="fx_steps")
main_running = session.running("main")
b1, b2, _ = st.columns([1, 1, 2])


def _start_main() -> None:
    spec = DatasetSpec.builtin(dataset)
    data = session.cached(("data", spec), lambda: flow.load_training_data(spec, conditional=False)[0])
    config = flow.flow_config(steps=int(steps), time_sampling=time_sampling)
    session.train("main", flow.FlowRun(data=data, config=config))


if b1.button("Train", type="primary", key="fx_train", disabled=session.any_running(), icon=":material/play_arrow:",
             width="stretch"):
    _act(_start_main)
    st.rerun()
b2.button("Stop", key="fx_stop", on_click=session.stop, args=("main",), disabled=not main_running,
          icon=":material/stop:", width="stretch")
if session.current("main") is None:
    st.caption("Press **Train**: the defaults train in under a minute on a laptop CPU.")
else:
    st.caption(f"Model: {session.current('main').describe()}")
_live_panel("main")

model = _ready("main")
run = session.current("main")
if model is not None and run.data is not None:
    data = run.data
    points = data.points
    domain = session.cached(("domain", run.id), lambda: charts.square_domain(points))
    evaluation = session.cached(("eval", data.spec), lambda: flow.evaluation_points(data.spec))
    floor = session.cached(("floor", data.spec), lambda: flow.ed_floor(data.spec))
    key = (run.id, run.steps_done)

    # ------------------------------------------------------------------------- 2. the field
    st.header("2 · The velocity field")
    t = st.slider("Time t (1 = noise, 0 = data)", 0.0, 1.0, 0.5, step=0.05, key="fx_t")
    field = session.cached(("field",) + key + (t,), lambda: flow.velocity_field(model, t, domain))
    exact = session.cached(("exact_field",) + key + (t,), lambda: flow.exact_velocity_field(data.spec, model, t,
                                                                                            domain))
    f1, f2 = st.columns(2, gap="large")
    with f1:
        _show(charts.vector_field(field["arrow_points"], field["arrows"], charts.downsample(points.numpy(), 1500),
                                  domain=domain, size=360, color_title="‖v‖", title=f"Learned velocity at t = {t:.2f}"))
    with f2:
        if exact is not None:
            _show(charts.vector_field(exact["arrow_points"], exact["arrows"], None, domain=domain, size=360,
                                      color_title="‖v‖", title=f"Exact velocity of the mixture at t = {t:.2f}"))
        else:
            st.caption("For 8-gaussians the exact velocity is known in closed form and is drawn here.")
    st.caption("The arrows are dx/dt as t *grows* (towards noise); the sampler walks against them, from t = 1 "
               "down to 0. Near t = 1 the field points almost straight out of the middle; near t = 0 it is "
               "shaped by the data.")

    # ------------------------------------------------------------------------- 3. straight vs curved
    st.header("3 · Straight training lines, curved sampling paths")
    lines = session.cached(("lines", run.id), lambda: flow.training_lines(model, data))
    learned = session.cached(("paths",) + key, lambda: flow.paths(model))
    p1, p2 = st.columns(2, gap="large")
    with p1:
        _show(charts.scatter({"data point x₀": lines["data"], "noise ε": lines["noise"]},
                             charts.downsample(points.numpy(), 1500), domain=domain, paths=lines["lines"],
                             size=360, title="Training: straight lines x₀ → ε"))
    with p2:
        _show(charts.scatter({"noise start": learned["start"], "sample": learned["end"]},
                             charts.downsample(points.numpy(), 1500), domain=domain,
                             paths=learned["learned"], size=360,
                             title="Sampling: the learned paths"))
    st.caption(f"Training lines cross each other; at a crossing the best velocity is their average, so the "
               f"learned paths curve. Bend of these paths (∫‖v‖²dt − ‖x₁ − x₀‖², 0 = straight): "
               f"{learned['bend']:.3f}.")

    # ------------------------------------------------------------------------- 4. steps
    st.header("4 · How many steps?")
    k = st.slider("Euler steps", 1, 50, flow.SCHNELL_STEPS, key="fx_k")
    picked = session.cached(("at_steps",) + key + (k,), lambda: flow.samples_at_steps(model, k, evaluation, floor))
    sweep = session.cached(("sweep",) + key, lambda: flow.quality_vs_steps(model, evaluation, floor))
    s1, s2 = st.columns(2, gap="large")
    with s1:
        _show(charts.scatter(picked["samples"], points.numpy(), domain=domain, size=380, max_points=2000,
                             title=f"{len(picked['samples']):,} samples with {k} Euler step{'s' if k > 1 else ''}"))
    with s2:
        st.metric("energy distance to fresh data", f"{picked['energy_distance']:.4f}")
        st.metric("÷ data-vs-data floor", f"{picked['ratio']:.1f}×",
                  help=f"Two fresh draws of the data are {floor:.4f} apart: 1× is as good as it gets at 2,000 points.")
        _show(flow_charts.quality_vs_steps([dict(r, series="this flow") for r in sweep], highlight=k,
                                           title="Quality vs steps (log–log)"))
        st.caption("Dashed: 4 steps, FLUX.1-schnell's choice. Solid grey: 1×, the data-vs-data floor.")
    st.caption("FLUX.1-schnell generates in 4 Euler steps. It was not trained like this toy: it was distilled from "
               "a larger model with latent adversarial diffusion distillation (LADD), which is what makes its "
               "4 steps good. A plain flow, like this one, needs more.")

    # ------------------------------------------------------------------------- 5. reflow
    st.header("5 · Reflow: straighter paths, fewer steps")
    st.markdown("Reflow (Liu, Gong & Liu 2022) runs the trained flow from 10,000 noise draws, keeps each "
                "(noise, sample) pair, and trains a second flow on those pairs instead of random ones. Its training "
                "lines no longer cross much, so its paths are straighter.")
    reflow_run = session.current("reflow")
    r1, r2, _ = st.columns([1, 1, 2])
    if r1.button("Reflow", key="fx_reflow", disabled=session.any_running(), icon=":material/straighten:",
                 width="stretch"):
        _act(session.train_reflow)
        st.rerun()
    r2.button("Stop", key="fx_reflow_stop", on_click=session.stop, args=("reflow",),
              disabled=not session.running("reflow"), icon=":material/stop:", width="stretch")
    _live_panel("reflow")
    after = _ready("reflow")
    if after is not None and reflow_run.parent is run:
        numbers = session.cached(("reflow_numbers", reflow_run.id, reflow_run.steps_done),
                                 lambda: flow.reflow_numbers(model, after, evaluation, floor))
        table = pd.DataFrame({
            "": ["straightness (0 = straight)", "1 step: ED ÷ floor", "4 steps: ED ÷ floor"],
            "first flow": [numbers["before"]["straightness"], numbers["before"]["ratio_1"],
                           numbers["before"]["ratio_4"]],
            "after reflow": [numbers["after"]["straightness"], numbers["after"]["ratio_1"],
                             numbers["after"]["ratio_4"]]})
        st.dataframe(table, hide_index=True, key="fx_reflow_table",
                     column_config={c: st.column_config.NumberColumn(format="%.3f") for c in
                                    ("first flow", "after reflow")})
        one_after = session.cached(("at_steps", reflow_run.id, reflow_run.steps_done, 1),
                                   lambda: flow.samples_at_steps(after, 1, evaluation, floor))
        one_before = session.cached(("at_steps",) + key + (1,),
                                    lambda: flow.samples_at_steps(model, 1, evaluation, floor))
        q1, q2 = st.columns(2, gap="large")
        with q1:
            _show(charts.scatter(one_before["samples"], points.numpy(), domain=domain, size=320, max_points=2000,
                                 title="1 step, first flow"))
        with q2:
            _show(charts.scatter(one_after["samples"], points.numpy(), domain=domain, size=320, max_points=2000,
                                 title="1 step, after reflow"))
        st.caption("Reflow is how to *see* why straight paths allow few steps. It is not how FLUX.1-schnell was "
                   "made (that was LADD, an adversarial distillation).")

    # ------------------------------------------------------------------------- 6. implied score
    st.header("6 · The same field as Part 2: the implied score")
    st.markdown("The path at time t is the (standardized) data blurred with noise σ = t/(1 − t), then shrunk by "
                "(1 − t). So the velocity gives the score the NCSN of Part 2 learns, at every σ:")
    st.latex(r"\nabla \log p_t(x) = -\frac{x + (1-t)\,v(x,t)}{t}")
    st.latex(r"\mathbb{E}[\varepsilon \mid x_t] = x + (1-t)\,v,\qquad \mathbb{E}[x_0 \mid x_t] = x - t\,v")
    sigma = st.select_slider("Noise level σ (data units)", SIGMAS, value=0.5, key="fx_sigma")
    reference = session.cached(("reference", data.spec), lambda: flow.reference_score_for(data))
    implied = session.cached(("implied",) + key + (sigma,),
                             lambda: flow.implied_score_field(model, reference.score, sigma, domain))
    i1, i2 = st.columns(2, gap="large")
    with i1:
        _show(charts.vector_field(implied["arrow_points"], implied["flow"], None, domain=domain, size=340,
                                  title=f"Flow's score at σ = {sigma:g}"))
    with i2:
        _show(charts.vector_field(implied["arrow_points"], implied["reference"], None, domain=domain, size=340,
                                  title=f"{reference.kind.capitalize()} score at σ = {sigma:g}"))
    st.metric(f"mean difference ÷ mean size of the {reference.kind} score", f"{implied['relative_error']:.2f}")
    st.caption("The " + ("exact score of the Gaussian mixture." if reference.kind == "exact" else
                         "exact score of the blurred training points (at small σ it memorizes them; a network "
                         "that generalizes differs there).")
               + " Same vector field, up to the conversion: a flow model is a score model in disguise.")
elif run is not None and run.running:
    st.caption("The velocity field, the paths, the steps slider, reflow and the implied score appear when "
               "training stops.")

# ----------------------------------------------------------------------------- 7. guidance

st.header("7 · Guidance")
st.markdown("Classifier-free guidance trains one network with the class, dropping it 10% of the time, and at "
            "sampling mixes the two predictions: v = v_uncond + w·(v_cond − v_uncond). w = 0 ignores the class, "
            "w = 1 is the plain conditional flow, larger w pushes harder. FLUX.1-schnell runs with guidance 0. "
            "FLUX.1-dev takes a guidance value as an extra input (it was guidance-distilled), so it needs no second, "
            "unconditional pass.")
g1, g2, g3 = st.columns(3)
guided_data = g1.selectbox("Labelled data", LABELLED_DATASETS, key="fx_guided_data",
                           format_func={"8-gaussians": "8-gaussians, one class per mode",
                                        "moons": "moons, one class per moon"}.get)
guided_steps = g2.number_input("Training steps", min_value=100, max_value=20_000, value=flow.GUIDED_TRAIN_STEPS,
                               step=500, key="fx_guided_steps",
                               help="Longer than the plain flow: guidance multiplies the network's errors by w.")
g3.write("")


def _start_guided() -> None:
    spec = DatasetSpec.builtin(guided_data)
    data, labels, names = session.cached(("labelled", spec), lambda: flow.load_training_data(spec, conditional=True))
    config = flow.flow_config(steps=int(guided_steps), num_classes=len(names))
    session.train("guided", flow.FlowRun(data=data, config=config, labels=labels, class_names=names))


if g3.button("Train with labels", key="fx_guided_train", disabled=session.any_running(),
             icon=":material/play_arrow:", width="stretch"):
    _act(_start_guided)
    st.rerun()
g3.button("Stop", key="fx_guided_stop", on_click=session.stop, args=("guided",),
          disabled=not session.running("guided"), icon=":material/stop:", width="stretch")
_live_panel("guided")
guided = _ready("guided")
guided_run = session.current("guided")
if guided is not None and guided_run.data is not None:
    names = guided_run.class_names
    gdomain = session.cached(("domain", guided_run.id), lambda: charts.square_domain(guided_run.data.points))
    centers = mode_centers(guided_run.data.spec)
    h1, h2 = st.columns(2)
    label = h1.selectbox("Class", list(range(len(names))), format_func=lambda i: names[i], key="fx_class")
    w = h2.slider("Guidance weight w", 0.0, 5.0, 1.0, step=0.5, key="fx_w")
    gkey = (guided_run.id, guided_run.steps_done, label)
    summary = session.cached(("guided",) + gkey + (w,), lambda: flow.guidance_summary(guided, label, w, centers))
    table = session.cached(("guided_table",) + gkey, lambda: flow.guidance_table(guided, label, centers))
    k1, k2 = st.columns(2, gap="large")
    with k1:
        _show(charts.scatter(summary["samples"], guided_run.data.points.numpy(), domain=gdomain, size=380,
                             title=f"1,000 samples of “{names[label]}” at w = {w:g}"))
    with k2:
        if summary["share"] is not None:
            st.metric("samples nearest this class's mode", f"{summary['share']:.1%}")
        st.metric("spread (RMS distance to the samples' own mean)", f"{summary['spread']:.3f}",
                  help="How varied this class's samples are: guidance trades this diversity for fidelity.")
        if summary["offset"] is not None:
            st.metric("their mean's distance from the mode's centre", f"{summary['offset']:.3f}",
                      help="Guidance pushes away from the other classes, so the samples drift past the mode.")
        frame = pd.DataFrame(table).rename(columns={"share": "nearest this mode", "offset": "mean's offset"})
        if centers is None:
            frame = frame.drop(columns=["nearest this mode", "mean's offset"])
        st.dataframe(frame, hide_index=True, key="fx_guidance_table",
                     column_config={"w": st.column_config.NumberColumn(format="%.1f"),
                                    "nearest this mode": st.column_config.NumberColumn(format="percent"),
                                    "spread": st.column_config.NumberColumn(format="%.3f"),
                                    "mean's offset": st.column_config.NumberColumn(format="%.3f")})
    st.caption("Higher w concentrates the samples on the class: fewer land elsewhere, and their spread shrinks "
               "(less diversity). It also pushes them away from the other classes, past the mode's centre. "
               "Guidance extrapolates the network's two answers, so it multiplies their errors by w too: a "
               "flow trained too briefly misbehaves at large w (its samples streak off, or collapse to a point).")

# ----------------------------------------------------------------------------- save / load

with st.expander("Save or load a flow", icon=":material/save:"):
    s1, s2 = st.columns(2)
    with s1:
        for slot, what in (("main", "the flow"), ("reflow", "the reflow"), ("guided", "the class-conditional flow")):
            saved = session.current(slot)
            if saved is not None and not saved.running and saved.model() is not None:
                blob = session.cached(("zip", saved.id, saved.steps_done), lambda: flow.run_zip_bytes(saved))
                st.download_button(f"Download {what} (.zip)", blob, file_name=f"flow_{slot}.zip",
                                   mime="application/zip", icon=":material/download:", key=f"fx_zip_{slot}")
        st.caption("model.safetensors + config.json + losses.csv, the Score lab's layout (`\"kind\": \"flow\"`).")
    with s2:
        upload = st.file_uploader("Load a saved flow (.zip)", type=["zip"], key="fx_zip_upload",
                                  disabled=session.any_running())
        if upload is not None and ss.get("fx_zip_id") != upload.file_id:
            ss["fx_zip_id"] = upload.file_id
            try:
                loaded, history, names = load_flow_zip(upload.getvalue(), upload.name)
                session.set_loaded(flow.loaded_flow_run(loaded, history, names))
                ss.pop("fx_zip_error", None)
                st.rerun()
            except InputError as exc:
                ss["fx_zip_error"] = str(exc)
        if ss.get("fx_zip_error"):
            st.error(ss.fx_zip_error, icon=":material/error:")
