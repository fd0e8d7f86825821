"""The gallery's toolbar: the file's problems, Edit, Save, Generate missing, and the two exports."""

from __future__ import annotations

import streamlit as st

from app.gallery import jobs
from app.gallery.editing import save
from app.gallery.lesson import Lesson
from app.gallery.messages import show_problems
from app.gallery.session import view_problems
from models.flux.export import export_html, export_zip_bytes


def toolbar_ui(lesson: Lesson) -> bool:
    """The toolbar; returns whether edit mode is on."""
    show_problems(view_problems(), lesson.path)
    bar = st.container(horizontal=True, vertical_alignment="center")
    editing = lesson.editable and bar.toggle("Edit", key="gallery_edit",
                                             help="Edit prompts, seeds and commentary; Save writes the file")
    if lesson.editable and bar.button("Save", key="gallery_save", icon=":material/save:",
                                      type="primary" if lesson.edits else "secondary", disabled=not lesson.edits,
                                      help="Write your edits into the file as it is on disk now (comments are kept)"):
        save(lesson)
        st.rerun()
    if bar.button("Generate missing", key="gallery_generate_missing", icon=":material/auto_awesome:",
                  disabled=lesson.busy or not lesson.can_generate,
                  help="Every prompt whose image is not in the store yet"):
        jobs.start_job(lesson.generator, jobs.missing_images(lesson), "generate missing")
        st.rerun()
    _downloads(bar, lesson)
    if lesson.edits and lesson.editable:
        st.caption(":material/edit_note: Unsaved changes: press **Save** to write them to the file.")
    return editing


def _downloads(bar, lesson: Lesson) -> None:
    """The zip and the HTML handout, the instructor's exports; a download does not rerun the page.

    Served to the class they are not offered: the zip holds the file itself, comments and all, and the
    handout embeds every image (each click costs the server seconds); the instructor hands it out.
    """
    pf, store, model_id, stem = lesson.pf, lesson.store, lesson.backend.model_id, lesson.path.stem
    if not lesson.editable:
        return
    bar.download_button("Zip", data=lambda: export_zip_bytes(pf, store, model_id=model_id),
                        file_name=f"{stem}.zip", mime="application/zip", key="gallery_zip",
                        icon=":material/folder_zip:", on_click="ignore",
                        help="The prompt file and the starred (else first) image of each prompt")
    bar.download_button("HTML handout", data=lambda: export_html(pf, store, model_id=model_id),
                        file_name=f"{stem}.html", mime="text/html", key="gallery_html",
                        icon=":material/description:", on_click="ignore",
                        help="One standalone page: sections, commentary, images and their settings")
