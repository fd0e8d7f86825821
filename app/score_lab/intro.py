"""The Score lab's "How it works, and what to notice" box: the loss, the noise ladder, the sampler."""

import streamlit as st


def how_it_works() -> None:
    """Closed: Train stays on the first screen (a projector's 1024×768, a zoomed 853×533). Opened, the
    maths and then what to notice, each the column's whole width (side by side beside an open sidebar,
    the notes wrapped a word a line)."""
    with st.expander("How it works, and what to notice", icon=":material/school:"):
        _the_maths()
        _what_to_notice()


def _the_maths() -> None:
    st.markdown(
        "A small network learns the **score** s(x, σ) ≈ ∇ log p_σ(x) of the data blurred with noise of "
        "size σ: an arrow at every point towards *more likely*. It only ever sees noisy copies x̃ = x + σz "
        "and learns to point back (denoising score matching):")
    st.latex(r"\mathcal{L}(\sigma) = \tfrac12\,\mathbb{E}_{x,\,z}\,\big\|\,\sigma\, s_\theta(x+\sigma z,\ \sigma)"
             r" + z\,\big\|^2")
    st.markdown("NCSN trains one network for a ladder of noise levels, from σ_max (as wide as the data) "
                "down to σ_min (an invisible blur), and averages the loss over it:")
    st.latex(r"\sigma_i = \sigma_{\max}\Big(\frac{\sigma_{\min}}{\sigma_{\max}}\Big)^{\frac{i-1}{L-1}},"
             r"\quad i = 1,\dots,L")
    st.markdown("Sampling climbs the learned score with a little noise, level by level (annealed Langevin):")
    st.latex(r"x \leftarrow x + \tfrac{\alpha_i}{2}\, s_\theta(x, \sigma_i) + \sqrt{\alpha_i}\, z,"
             r"\qquad \alpha_i = \varepsilon\, \sigma_i^2 / \sigma_L^2")


def _what_to_notice() -> None:
    st.info(
        "**What to notice**\n\n"
        "- The loss never reaches 0: no network can tell exactly which noise z was added. The dashed "
        "line is the **floor of the training set**, the loss of the exact score of the training points. "
        "At the smallest σ that is the loss of a model that has *memorized* those points (ncsn-mixture, "
        "10,000 points, σ = 0.041: 0.88, against 1.00 for the population). A network that generalizes "
        "stays above it there; reaching it would mean memorizing. For a known mixture the population "
        "floor is shown beside it.\n"
        "- Big σ: small loss, the arrows just point to the middle. Small σ: the loss tends to d/2 = 1, "
        "because once the noise is far smaller than the data's own spread, x̃ says almost nothing "
        "about z.\n"
        "- The live samples go from a blob to the shape: coarse structure first, fine detail last.\n"
        "- After training, compare the arrows at a large and a small σ, and play the sampling movie: "
        "noise becomes data, level by level.",
        icon=":material/visibility:")
