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
        "- **denoising score matching** — a network learns the score $\\nabla_x \\log p_\\sigma(x)$ "
        "by learning to denoise;\n"
        "- **NCSN** — one network for a whole ladder of noise levels $\\sigma_1 > \\dots > \\sigma_L$;\n"
        "- **annealed Langevin dynamics** — sample by following the score while the noise level is "
        "lowered step by step."
    )
    st.page_link("views/score_lab.py", label="Score lab — train and sample", icon=":material/scatter_plot:")
    st.page_link("views/langevin.py", label="Langevin vs annealed Langevin", icon=":material/timeline:")
    st.page_link("views/forward_noising.py", label="Forward noising and Tweedie", icon=":material/grain:")
    st.page_link("views/memorization.py", label="Memorization vs generalization", icon=":material/content_copy:")

st.divider()
st.subheader("One score, several samplers")
st.markdown(
    "Denoising and Langevin dynamics use **the same score**. Tweedie's formula says the best guess of the "
    "clean point behind a noisy one is one step **along the score**, so a network trained to denoise *is* a "
    "score model (Vincent, 2011). Langevin dynamics samples by taking many small steps along the score plus "
    "a little noise:"
)
st.latex(r"\hat x = \tilde x + \sigma^2\, \nabla_{\tilde x} \log p_\sigma(\tilde x)"
         r"\qquad\qquad x \leftarrow x + \tfrac{\alpha}{2}\, \nabla_x \log p_\sigma(x) + \sqrt{\alpha}\, z")
st.markdown(
    "Related, but not the same sampler. One step of the denoising (ancestral) sampler from σᵢ down to "
    "σᵢ₊₁, with Δσ² = σᵢ² − σᵢ₊₁², has exactly the drift of one deterministic **probability-flow-ODE** step "
    "(½Δσ²·s) plus one **Langevin** step at the current level (α = Δσ²), but its noise is smaller than that "
    "Langevin step's by the factor σᵢ₊₁/σᵢ:"
)
st.latex(r"x \leftarrow x + \underbrace{\tfrac12 \Delta\sigma^2\, s(x, \sigma_i)}_{\text{ODE drift}}"
         r" + \underbrace{\tfrac{\alpha}{2}\, s(x, \sigma_i)}_{\text{Langevin drift}}"
         r" + \underbrace{\tfrac{\sigma_{i+1}}{\sigma_i}\sqrt{\alpha}\, z}_{\text{less noise}},"
         r"\qquad \alpha = \Delta\sigma^2")
st.markdown(
    "With the Langevin step's full noise √α·z, ODE step + Langevin step is exactly the Euler–Maruyama step of "
    "the reverse SDE; the ancestral step matches it only as the steps shrink (σᵢ₊₁/σᵢ → 1).\n\n"
    "Annealed Langevin keeps only the Langevin part and takes many steps per level. Swapping each ancestral "
    "step for a single Langevin step with the same drift changes the result: with the exact score of the "
    "NCSN toy (0.2/0.8 mixture of unit Gaussians, 100 levels, exact starting density) that chain puts 0.70 "
    "of the samples in the heavy mode with a within-mode std of 1.45, where the ancestral sampler gives "
    "0.81 and 0.97 (truth: 0.80 and 1.00; that small gap is its step size's, and it shrinks with the steps).\n\n"
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
