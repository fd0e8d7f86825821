"""Section 1: train a flow on a built-in shape (Train and Stop, then its live panel)."""

from __future__ import annotations

import streamlit as st

from app.flow_lab import session
from app.flow_lab.live import act, live_panel
from models.flow import run as flow
from models.flow.defaults import DEFAULTS
from models.lab.datasets import DATASET_DESCRIPTIONS, DATASET_NAMES, DatasetSpec

FLOW_DATASETS = [name for name in DATASET_NAMES if name != "ncsn-mixture"]


def train_ui() -> None:
    c1, c2, c3 = st.columns(3)
    dataset = c1.selectbox("Data", FLOW_DATASETS, key="fx_dataset", help="Built-in 2-D shapes (the Score lab's).")
    c1.caption(DATASET_DESCRIPTIONS[dataset])
    time_sampling = c2.radio("Training times t", ["logit-normal", "uniform"], key="fx_times", horizontal=True,
                             help="Logit-normal (SD3, Esser et al. 2024) draws more t's in the middle of the path, "
                                  "where the velocity is hardest to guess; uniform is the original rectified flow.")
    steps = c3.number_input("Training steps", min_value=100, max_value=20_000, value=DEFAULTS.train_steps, step=500,
                            key="fx_steps")
    main_running = session.running("main")
    b1, b2, _ = st.columns([1, 1, 2])
    if b1.button("Train", type="primary", key="fx_train", disabled=session.any_running(),
                 icon=":material/play_arrow:", width="stretch"):
        act(lambda: _start_main(dataset, time_sampling, int(steps)))
        st.rerun()
    b2.button("Stop", key="fx_stop", on_click=session.stop, args=("main",), disabled=not main_running,
              icon=":material/stop:", width="stretch")
    if session.current("main") is None:
        st.caption("Press **Train**: the defaults train in under a minute on a laptop CPU.")
    else:
        st.caption(f"Model: {session.current('main').describe()}")
    live_panel("main")


def _start_main(dataset: str, time_sampling: str, steps: int) -> None:
    spec = DatasetSpec.builtin(dataset)
    data = session.cached(("data", spec), lambda: flow.load_training_data(spec, conditional=False)[0])
    config = flow.flow_config(steps=steps, time_sampling=time_sampling)
    session.train("main", flow.FlowRun(data=data, config=config))
