"""Home: what the dashboard teaches, where each page is, and what hardware it runs on.

Kept light on purpose: no diffusers/transformers import here (that alone costs
seconds), nor the job pools (app/ui/resources.py), so the first page a class sees paints at once.
"""

import streamlit as st

from app.ui.device import device_summary

st.title("Diffusion Classroom")
st.markdown(
    "A course on **diffusion models** in two parts and a bridge: what a real text-to-image model does, then its "
    "core idea, *learn the score, then follow it*, rebuilt on 2-D points you can see in full."
)
# Short on purpose: Home is the map a class sees first, and each paragraph costs the first paint of a cold start
# (bench_app part 1). The derivations, with their numbers, are on the pages linked here.
part1, part2 = st.columns(2, gap="large")

with part1:
    st.subheader("Part 1 · Text to image")
    st.markdown("**FLUX.1-schnell** images from an editable prompt file, with commentary: scenes no one has "
                "photographed, and where the model misreads a prompt (ambiguous words, bias, other languages).")
    st.page_link("views/gallery.py", label="FLUX gallery", icon=":material/photo_library:")
    st.markdown("No GPU or weights? The same lessons on a digit model trained here in a minute:")
    st.page_link("views/text_to_image.py", label="Text to image, trained here", icon=":material/draw:")

with part2:
    st.subheader("Part 2 · Score models")
    st.markdown("The same machinery on 2-D points, where everything can be computed exactly: **denoising score "
                "matching**, **NCSN** over a ladder of noise levels, **annealed Langevin dynamics**.")
    st.page_link("views/score_lab.py", label="Score lab: train and sample", icon=":material/scatter_plot:")
    st.page_link("views/langevin.py", label="Langevin vs annealed", icon=":material/timeline:")
    st.page_link("views/forward_noising.py", label="Forward noising and Tweedie", icon=":material/grain:")
    st.page_link("views/memorization.py", label="Memorization", icon=":material/content_copy:")

st.subheader("The bridge: one score, and a flow")
st.markdown(
    "Denoising and Langevin dynamics use **the same score**: by Tweedie's formula the best guess of the clean "
    "point behind a noisy one is one step along it, x̂ = x̃ + σ² ∇log p_σ(x̃), so a network trained to denoise "
    "*is* a score model (Vincent, 2011). FLUX.1-schnell follows a learned velocity instead: it integrates a flow "
    "ODE (rectified flow) in 4 Euler steps, with no Langevin noise. "
    "FLUX.1-schnell has no guidance input: each step is one conditional pass of the network, which is "
    "w = 1 in the guidance terms of How FLUX samples."
)
st.page_link("views/how_flux_samples.py", label="How FLUX samples", icon=":material/air:")
st.page_link("views/samplers.py", label="One score, many samplers", icon=":material/call_split:")

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
st.caption("The score pages run on a laptop CPU. Real FLUX.1-schnell images need its weights (see the gallery) "
           "and, in practice, a GPU; without them the gallery shows stored images.")
