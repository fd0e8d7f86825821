"""How FLUX samples: flow matching in 2-D, few steps, straighter paths, guidance — Part 1 meets Part 2.

The page's outline. Every computation is in models/flow/run.py (the flow front door), this tab's
flows are kept by app/flow_lab/session.py and train in the shared job pool, and a fragment per flow
redraws its progress and live charts without rerunning the page. The widgets are in app/flow_lab/.
"""

from __future__ import annotations

import itertools

import streamlit as st

from app.flow_lab import guidance, intro, live, save_load, sections, session, train

session.attach()  # a reloaded tab takes back its flows (the URL names them)
numbers = itertools.count(1)  # the sections shown are numbered 1, 2, 3, … (before training: 1 and 2)


def header(title: str) -> None:
    st.header(f"{next(numbers)} · {title}")


st.title("How FLUX samples")
st.caption("Part 1 meets Part 2: the images in the gallery come from a *flow*. Here is the same idea in 2-D.")
intro.flow_matching_in_one_screen()
live.error_line()

header("Train a flow")
train.train_ui()

trained = sections.trained_flow()  # None until the flow has trained (and while it trains again)
if trained is not None:
    header("The velocity field")
    sections.velocity_field_ui(trained)
    header("Straight training lines, curved sampling paths")
    sections.paths_ui(trained)
    header("How many steps?")
    sections.steps_ui(trained)
    header("Reflow: straighter paths, fewer steps")
    sections.reflow_ui(trained)
    header("The same field as Part 2: the implied score")
    sections.implied_score_ui(trained)
elif session.running("main"):
    st.caption("The velocity field, the paths, the steps slider, reflow and the implied score appear when "
               "training stops.")

header("Guidance")
guidance.guidance_ui()

with st.expander("Save or load a flow", icon=":material/save:"):
    save_load.save_load_ui()
