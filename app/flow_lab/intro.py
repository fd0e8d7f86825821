"""The "Flow matching in one screen" box: the straight path, the rectified-flow loss, the Euler sampler."""

import streamlit as st


def flow_matching_in_one_screen() -> None:
    """Closed: Train stays on the first screen. Opened, the maths and then what to notice, each the
    column's whole width (side by side beside an open sidebar, the notes wrapped a word a line)."""
    with st.expander("Flow matching in one screen", icon=":material/school:"):
        _the_maths()
        _what_to_notice()


def _the_maths() -> None:
    st.markdown("FLUX.1 is a **rectified-flow** transformer. Training draws a data point x₀, a noise draw ε and "
                "a time t, and mixes them on a straight line (t = 1 is pure noise):")
    st.latex(r"x_t = (1-t)\,x_0 + t\,\varepsilon")
    st.markdown("The network learns the velocity along that line, ε − x₀ (the rectified-flow loss of SD3, "
                "Esser et al. 2024; Black Forest Labs published no training objective for FLUX):")
    st.latex(r"\mathcal{L} = \mathbb{E}_{x_0,\,\varepsilon,\,t}\,\big\|\,v_\theta(x_t, t) - "
             r"(\varepsilon - x_0)\,\big\|^2")
    st.markdown("Sampling solves dx/dt = v from noise at t = 1 back to t = 0 with Euler steps "
                "(FLUX.1-schnell takes **4**):")
    st.latex(r"x \leftarrow x + (t_{i+1} - t_i)\, v_\theta(x, t_i)")
    st.latex(r"1 = t_0 > t_1 > \dots > t_K = 0")


def _what_to_notice() -> None:
    st.info("**What to notice**\n\n"
            "- The training lines are straight, but lines of different pairs cross; the network can only "
            "learn their average there, so the learned paths **bend**.\n"
            "- Bent paths need several steps: one Euler step lands every sample near the data's mean.\n"
            "- **Reflow** retrains on the flow's own (noise, sample) pairs: the paths straighten and few "
            "steps get better.\n"
            "- The velocity is the score of Part 2 in disguise: ∇log p_t(x) = −(x + (1 − t)·v)/t.",
            icon=":material/visibility:")
