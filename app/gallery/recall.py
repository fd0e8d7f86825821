"""Recall a PNG's parameters (made here, or by AUTOMATIC1111 / Forge) into a new prompt of the lesson.

Every value is checked against the lesson's model before anything uses it; what does not carry over is
listed.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from app.gallery.lesson import Lesson
from app.gallery.messages import md_escape
from app.gallery.scratch import overrides_of
from app.gallery.session import next_revision
from models.flux.export import params_line
from models.flux.recall import RecallRefused, recall_params, with_schnell_values


def recall_ui(lesson: Lesson) -> None:
    upload = st.file_uploader("A PNG made here or by AUTOMATIC1111 / Forge", type=["png"], key="gallery_upload",
                              max_upload_size=64)  # a 4096×4096 PNG (the most recall reads) fits
    if upload is None:
        return
    try:
        recalled = recall_params(upload.getvalue(), lesson.pf.defaults["model"])
    except RecallRefused as exc:
        st.error(f"Cannot recall {md_escape(upload.name)}: {md_escape(str(exc))}.", icon=":material/error:")
        return
    st.code(recalled.params.prompt, language=None, wrap_lines=True)
    st.caption(params_line({**recalled.params.to_dict(), "model_id": recalled.made_with})
               + f" · read from the {recalled.source} metadata")
    if recalled.notes:
        st.warning("**What does not carry over:**\n\n" + "\n".join(f"- {md_escape(n)}" for n in recalled.notes),
                   icon=":material/swap_horiz:")
    if recalled.differs_from_schnell and st.checkbox(
            "Use schnell's values instead (4 steps; guidance_scale 0, which schnell ignores)", value=True,
            key="gallery_upload_schnell"):
        recalled = replace(recalled, params=with_schnell_values(recalled.params))
    _add_as_prompt(lesson, recalled, upload.name)


def _add_as_prompt(lesson: Lesson, recalled, file_name: str) -> None:
    """The instructor picks a section; the prompt joins this session's edits (Save writes it)."""
    sections = lesson.pf.sections()
    if not lesson.editable:
        st.caption("Only the instructor adds prompts to the lesson.")
        return
    if not sections:
        st.info("Add a section first (Edit → Add a section).")
        return
    target = st.selectbox("Add to section", [s["id"] for s in sections], key="gallery_upload_section",
                          format_func=lambda s: next(x.get("title") or s for x in sections if x["id"] == s))
    if st.button("Add as a new prompt", key="gallery_upload_add", icon=":material/add:"):
        params = recalled.params
        new_id = lesson.edits.add_prompt(lesson.pf, target, params.prompt, seed=params.seed,
                                         commentary=f"Recalled from {file_name}.",
                                         **overrides_of(params, lesson.pf.defaults))
        next_revision()
        st.toast(f"Added prompt {new_id}; press Save to keep it.")
        st.rerun()
