"""Home: what the dashboard teaches, where each page is, and what hardware it runs on.

Kept light on purpose: no diffusers/transformers import here (that alone costs
seconds), so the first page a class sees paints at once.
"""

import streamlit as st

from app.ui.resources import device_summary

st.title("Diffusion Classroom")
st.markdown(
    "A dashboard for a course on **diffusion models**: first look at what a real text-to-image "
    "model does, then rebuild the core idea — *learn the score, then follow it* — on 2-D points "
    "you can see in full."
)

left, right = st.columns(2, gap="large")

with left:
    st.subheader("Part 1 · Text to image")
    st.markdown(
        "A gallery of **FLUX.1-schnell** images generated from an editable prompt file, with commentary. "
        "The prompts are chosen to probe two questions:\n"
        "- **generalization** — scenes no one has photographed (a gouache cat wizard among whales in the sky): "
        "does the model *combine* concepts it learned separately, or *copy* pictures it has seen?\n"
        "- **failure** — ambiguous words, bias, other languages: where the text encoders read the prompt "
        "differently from us, the picture follows *their* reading."
    )
    st.page_link("views/gallery.py", label="FLUX gallery", icon=":material/photo_library:")
    st.markdown("No GPU or no FLUX weights? The same lessons (tokens, a few Euler steps, guidance, words never "
                "seen, bias) on an 8×8 digit model trained on this computer in under a minute:")
    st.page_link("views/text_to_image.py", label="Text to image, trained here", icon=":material/draw:")

with right:
    st.subheader("Part 2 · Score models")
    st.markdown(
        "The same machinery on 2-D toy data, where everything can be computed exactly:\n"
        "- **denoising score matching** — a network learns the score ∇ₓ log p_σ(x) "
        "by learning to denoise;\n"
        "- **NCSN** — one network for a whole ladder of noise levels σ₁ > … > σ_L;\n"
        "- **annealed Langevin dynamics** — sample by following the score while the noise level is "
        "lowered step by step."
    )
    st.page_link("views/score_lab.py", label="Score lab — train and sample", icon=":material/scatter_plot:")
    st.page_link("views/langevin.py", label="Langevin vs annealed Langevin", icon=":material/timeline:")
    st.page_link("views/forward_noising.py", label="Forward noising and Tweedie", icon=":material/grain:")
    st.page_link("views/memorization.py", label="Memorization vs generalization", icon=":material/content_copy:")

st.divider()
st.subheader("One score, several samplers")
# Plain text, no LaTeX, and short: Home is the map and the first page of a cold start (bench_app part 1).
# How an ancestral step splits into an ODE step and a Langevin step, with its equations and numbers, is on
# the samplers page linked below and in docs/samplers.md.
st.markdown(
    "Denoising and Langevin dynamics use **the same score**. Tweedie's formula says the best guess of the "
    "clean point behind a noisy one is one step **along the score**, x̂ = x̃ + σ² ∇log p_σ(x̃), so a network "
    "trained to denoise *is* a score model (Vincent, 2011). Langevin dynamics samples by taking many small "
    "steps along the score plus a little noise.\n\n"
    "FLUX.1-schnell in Part 1 is yet another sampler: it integrates a flow ODE (rectified flow) in "
    "4 deterministic Euler steps — no Langevin steps at all. FLUX.1-schnell has no guidance input: each step "
    "is one conditional pass of the network, which is w = 1 in the guidance terms of How FLUX samples."
)
st.page_link("views/samplers.py", label="One score, many samplers — every sampler side by side",
             icon=":material/call_split:")
st.page_link("views/how_flux_samples.py", label="How FLUX samples — flow matching in 2-D, four Euler steps",
             icon=":material/air:")

st.divider()
st.subheader("This machine")


@st.fragment(run_every=1.0)
def device_line():
    # torch takes ~2 s to import cold: it loads in the background so the page paints at once
    summary = device_summary()
    if summary is None:
        st.markdown("Checking for a GPU…")
        return
    st.markdown(summary)


device_line()
st.caption(
    "The score pages run comfortably on a laptop CPU. Real FLUX.1-schnell images need the model "
    "weights downloaded once (see the gallery page) and, in practice, a GPU; without them the gallery "
    "shows stored images and a tiny offline demo pipeline."
)
