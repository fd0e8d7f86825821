"""Score lab: pick 2-D data, press Train, watch the loss fall and the samples take shape.

The page's outline. The computation lives in models/score/run.py (the training-run front door), this
tab's run is kept by app/score_lab/session.py, the training runs in the shared job pool, and two
fragments redraw its progress (numbers twice a second, charts once a second) without rerunning the
page. The widgets are in app/score_lab/.
"""

from __future__ import annotations

import streamlit as st

from app.score_lab import controls, intro, live, results, save_load, session
from app.score_lab.settings import training_settings_ui
from app.ui.resources import warm_jobs

# 1. What the page is, and how it works
st.title("Score lab")
st.caption("Pick 2-D data, press **Train**, and watch the loss fall and the samples take shape.")
intro.how_it_works()

# 2. The settings (sidebar): data, model, noise levels, training
with st.sidebar:
    settings = training_settings_ui()

# 3. Train, Stop, Resume, Reset, and the picked data
run = session.current_run()
running = run is not None and run.running  # read once: the whole page agrees on it
controls.buttons_ui(settings, run, running=running)
controls.data_preview(settings, run)

# 4. Live progress: numbers and charts, redrawn while the job trains
live.live_ui(run)

# 5. What the model learned, once training stops
if run is not None and not running and run.model() is not None:
    results.results_ui(run)
elif running:
    st.caption("The sample plots, the score field and the sampling movie appear when training stops.")

# 6. Save or load a trained model
with st.expander("Save or load a trained model", icon=":material/save:"):
    save_load.save_load_ui(run, running=running)

warm_jobs()  # after drawing: the first Train should not wait for the workers' torch imports
