"""The last section: classifier-free guidance on labelled 2-D data (train a class-conditional flow, then
sample one class at a guidance weight w)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.flow_lab import session
from app.flow_lab.live import act, live_panel, ready
from app.ui import charts
from app.ui.presentation import chart
from app.ui.tables import reading_table
from models.flow import run as flow
from models.flow.defaults import DEFAULTS
from models.flow.labels import LABELLED_DATASETS, mode_centers
from models.lab.datasets import DatasetSpec


def guidance_ui() -> None:
    st.markdown("Classifier-free guidance trains one network with the class, dropping it 10% of the time, and at "
                "sampling mixes the two predictions: v = v_uncond + w·(v_cond − v_uncond). w = 0 ignores the class, "
                "w = 1 is the plain conditional flow, larger w pushes harder. FLUX.1-schnell has no guidance input "
                "(diffusers ignores its guidance_scale): each step is one conditional pass, which is w = 1 here. "
                "FLUX.1-dev takes a guidance value as an extra input (it was guidance-distilled), so it needs no "
                "second, unconditional pass.")
    g1, g2, g3 = st.columns(3)
    guided_data = g1.radio("Labelled data", LABELLED_DATASETS, key="fx_guided_data",  # a select box cut the choice
                           format_func={"8-gaussians": "8-gaussians, one class per mode",
                                        "moons": "moons, one class per moon"}.get)
    guided_steps = g2.number_input("Training steps", min_value=100, max_value=20_000,
                                   value=DEFAULTS.conditional_train_steps,
                                   step=500, key="fx_guided_steps",
                                   help="Longer than the plain flow: guidance multiplies the network's errors by w.")
    g3.write("")
    if g3.button("Train with labels", key="fx_guided_train", disabled=session.any_running(),
                 icon=":material/play_arrow:", width="stretch"):
        act(lambda: _start_guided(guided_data, int(guided_steps)))
        st.rerun()
    g3.button("Stop", key="fx_guided_stop", on_click=session.stop, args=("guided",),
              disabled=not session.running("guided"), icon=":material/stop:", width="stretch")
    live_panel("guided")
    guided = ready("guided")
    guided_run = session.current("guided")
    if guided is not None and guided_run.data is not None:
        _guided_samples(guided, guided_run)


def _start_guided(dataset: str, steps: int) -> None:
    spec = DatasetSpec.builtin(dataset)
    data, labels, names = session.cached(("labelled", spec), lambda: flow.load_training_data(spec, conditional=True))
    config = flow.flow_config(steps=steps, num_classes=len(names))
    session.train("guided", flow.FlowRun(data=data, config=config, labels=labels, class_names=names))


def _guided_samples(guided, guided_run) -> None:
    """One class's samples at weight w, how concentrated they are, and the same for every w."""
    names = guided_run.class_names
    gdomain = session.cached(("domain", guided_run.id), lambda: charts.square_domain(guided_run.data.points))
    centers = mode_centers(guided_run.data.spec)
    low, high = DEFAULTS.guidance_interval
    h1, h2, h3 = st.columns(3)
    label = h1.selectbox("Class", list(range(len(names))), format_func=lambda i: names[i], key="fx_class")
    w = h2.slider("Guidance weight w", 0.0, 5.0, 1.0, step=0.5, key="fx_w")
    limited = h3.toggle(f"Guide only for {low:g} < t ≤ {high:g}", key="fx_interval",
                        help="Kynkäänniemi et al. 2024: guidance in a limited interval of noise levels; the plain "
                             "conditional flow (w = 1) before and after it.")
    interval = DEFAULTS.guidance_interval if limited else None
    gkey = (guided_run.id, guided_run.steps_done, label)
    summary = session.cached(("guided",) + gkey + (w, interval),
                             lambda: flow.guidance_summary(guided, label, w, centers, interval=interval))
    table = session.cached(("guided_table",) + gkey, lambda: flow.guidance_table(guided, label, centers))
    k1, k2 = st.columns(2, gap="large")
    with k1:
        chart(charts.scatter(summary["samples"], guided_run.data.points.numpy(), domain=gdomain, size=380,
                             title=f"1,000 samples of “{names[label]}” at w = {w:g}"
                                   + (f", guided for {low:g} < t ≤ {high:g}" if limited else "")))
    with k2:
        if summary["share"] is not None:
            st.metric("samples nearest this class's mode", f"{summary['share']:.1%}")
        st.metric("spread (RMS distance to the samples' own mean)", f"{summary['spread']:.3f}",
                  help="How varied this class's samples are: guidance trades this diversity for fidelity.")
        if summary["offset"] is not None:
            st.metric("their mean's distance from the mode's centre", f"{summary['offset']:.3f}",
                      help="Guidance pushes away from the other classes, so the samples drift past the mode.")
    # the column's whole width: five columns in half of it hid the mean's offset at 1024×768
    frame = pd.DataFrame(table).rename(columns={"guided": "guidance on", "share": "nearest this mode",
                                                "offset": "mean's offset"})
    if centers is None:
        frame = frame.drop(columns=["nearest this mode", "mean's offset"])
    reading_table(frame, {"w": "{:.1f}", "nearest this mode": "percent", "spread": "{:.3f}", "mean's offset": "{:.3f}"})
    st.caption(measured_caption(table, names[label]))
    st.caption("Guidance pushes a class away from the others, so its mean moves past the mode's centre, and with "
               "exact velocities it narrows the class; most of that push comes from guidance at high noise (t near "
               "1), where the classes still overlap. It also extrapolates the network's two answers, so it "
               "multiplies their errors by w: a flow trained briefly spreads a class into a streak that runs off "
               f"the plot, and a well-trained one can squeeze it into a line. Guidance only in a band of t "
               f"(here {low:g} < t ≤ {high:g}; Kynkäänniemi et al. 2024), with the plain conditional flow before "
               "and after it, leaves less of that drift: compare the table's last rows with the whole path's.")


def measured_caption(rows: list[dict], name: str) -> str:
    """What this flow's table measured for “name”: w = 1 against w = 3 on the whole path and in the band."""
    def row(w, whole):
        return next(r for r in rows if r["w"] == w and (r["guided"] == "whole path") == whole)

    plain, full, band = row(1.0, True), row(3.0, True), row(3.0, False)
    change = "wider" if full["spread"] > plain["spread"] else "narrower"
    text = (f"Measured here for “{name}” (1,000 samples each): w = 3 on the whole path made the class {change}, "
            f"spread {plain['spread']:.3f} → {full['spread']:.3f}")
    if full["offset"] is not None:
        text += f", its mean {full['offset']:.3f} from the mode's centre ({plain['offset']:.3f} at w = 1)"
    text += f"; guided only for {band['guided']} it has spread {band['spread']:.3f}"
    if band["offset"] is not None:
        text += f" and offset {band['offset']:.3f}"
    return text + "."
