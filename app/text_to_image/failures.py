"""A prepared panel of failure cases that mirrors Part 1: a mixed-script prompt, a rare combination, a
request outside the data. Same seed and settings for each, with the judge's reading and the bias table."""

from __future__ import annotations

import streamlit as st

from app.text_to_image import session
from app.text_to_image.prompt_box import drawn, token_badges, verdict
from models.text_to_image import lesson
from models.text_to_image.captions import ATTRIBUTES
from models.text_to_image.images import grid_png

SEED, N, STEPS, GUIDANCE = 0, 8, 4, 2.0


def failures_ui(run) -> None:
    st.caption(f"Each case: {N} images, seed {SEED}, {STEPS} Euler steps, w = {GUIDANCE:g}, drawn by this run's model.")
    for case in lesson.FAILURES:
        st.markdown(f"**{case.title}** · prompt `{case.prompt}`")
        token_badges(case.prompt, run.seen_ids)
        left, right = st.columns([1, 2])
        d = drawn(run, case.prompt, N, STEPS, GUIDANCE, SEED)
        with left:
            st.image(grid_png(d.images, cols=4), width="stretch")
        with right:
            st.markdown(case.commentary)
            if case.asked >= 0 and d.digit is None:
                hits = sum(j == case.asked for j in d.judged)
                st.caption(f"The judge reads: {' '.join(map(str, d.judged))} → {hits} of {N} are {case.asked}s "
                           "(chance: about 1 in 10).")
            else:
                st.caption(verdict(d))
            _norms(run, case.prompt)
            if case.echoes:
                st.page_link("views/gallery.py", icon=":material/photo_library:",
                             label=f"In Part 1: «{case.echoes}»")
        if case.attributes:
            bias_table()
        st.divider()


def _norms(run, prompt: str) -> None:
    pieces = lesson.pieces(prompt, run.seen_ids)
    ids_seen = [p.id for p in pieces if p.seen]
    ids_unseen = [p.id for p in pieces if not p.seen]
    norms = session.cached(("norms", run.id, run.steps_done, prompt), lambda: (
        lesson.embedding_norms(run.model, ids_seen), lesson.embedding_norms(run.model, ids_unseen)))
    if ids_unseen:
        st.caption(f"Embedding lengths: unseen pieces {sum(norms[1]) / len(ids_unseen):.2f} on average (a 32-d "
                   f"random start has ≈ {lesson.START_NORM:.2f}), seen pieces {sum(norms[0]) / max(len(ids_seen), 1):.1f}.")


def bias_table() -> None:
    """The measured attribute × digit table: the share of each digit's real images with each attribute."""
    table = session.cached(("bias_table",), lesson.bias_table)
    rows = [{"attribute": a, **{str(k): f"{table[a][k]:.0%}" for k in range(10)}} for a in ATTRIBUTES]
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption("Share of the 1,797 real digits (columns 0–9) measured with each attribute. Thick/thin: ink mass in "
               "the top/bottom quarter of all digits; slanted/upright: the shear moment |μ₁₁/μ₀₂| in the top/bottom "
               "third. The captions say only what was measured.")
