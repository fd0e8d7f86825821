"""Text to image, trained here: an 8×8 digit model trained on this computer, to see Part 1's lessons live.

The page's outline. The model, its training job and every number it shows live in models/text_to_image/
(the run and worker in run.py, the pictures in lesson.py); this tab's run is kept by
app/text_to_image/session.py and trains in the shared job pool. The widgets are in app/text_to_image/.
"""

from __future__ import annotations

import streamlit as st

from app.text_to_image import failures, prompt_box, save_load, session, training

# 1. What this is: an 8×8 digit model trained on this computer, never FLUX
st.title("Text to image, trained here")
st.caption("An 8×8 digit model trained on this computer, in well under a minute. Not FLUX: a model small "
           "enough to watch learn, built the same way.")
with st.expander("How it works", icon=":material/info:"):
    st.markdown(
        "- **Data:** the 1,797 handwritten 8×8 digits that ship inside scikit-learn, with English captions made "
        "from the label and from what the pixels measure: *seven*, *the digit 7*, *a thick slanted seven*, …\n"
        "- **Text:** FLUX's own CLIP tokenizer cuts the caption into pieces; a small encoder, trained with the "
        "model, turns each piece into a learned vector and averages them. 10 % of captions are dropped, so "
        "the same network also learns to draw with no prompt (needed for guidance).\n"
        "- **Image:** rectified flow as in *How FLUX samples*: x_t = (1 − t)·x₀ + t·ε, the network learns the "
        "velocity ε − x₀, and sampling takes a few Euler steps from noise (t = 1) to a digit (t = 0), with "
        "guidance v = v_u + w·(v_c − v_u).\n"
        "- **Judge:** a 5-nearest-neighbour classifier on half of the real digits (98 % right on the other "
        "half) says which digit each image is.")
    st.page_link("views/how_flux_samples.py", label="How FLUX samples: the same flow in 2-D", icon=":material/air:")

# 2. Train: one press with the defaults; live loss and the ten digit words
run = session.current_run()
running = run is not None and run.running  # read once: the whole page agrees on it
st.subheader("1 · Train")
training.controls_ui(run, running=running)
training.live_ui(run)

# 3. Prompt: pieces seen / unseen, the controls, the judge, the step timeline
ready = run is not None and not running and run.model is not None
if ready:
    st.subheader("2 · Prompt")
    prompt_box.prompt_ui(run)

    # 4. Two prompts, one seed
    st.subheader("3 · Compare two prompts")
    prompt_box.compare_ui(run)

    # 5. Failure cases that mirror Part 1
    st.subheader("4 · Where it fails, and why")
    failures.failures_ui(run)
elif running:
    st.caption("The prompt box, the comparison and the failure cases open when training finishes (or is stopped).")

# 6. Save or load a trained model
with st.expander("Save or load a trained model", icon=":material/save:"):
    save_load.save_load_ui(run, running=running)
