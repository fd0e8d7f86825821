"""The prompt-file picker of the gallery: prompts/*.toml and DC_PROMPTS_DIR, "new file from template"."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.gallery.messages import md_escape
from models.flux.prompt_files import (
    PromptFilesError,
    display_name,
    list_prompt_files,
    new_prompt_file,
    prompt_folders,
)
from models.flux.settings import FluxSettings


def _new_file(folder: Path) -> None:
    """on_click of "Create": write the template, then open the new file in this session."""
    state = st.session_state
    try:
        created = new_prompt_file(folder, state.get("gallery_new_title", ""))
    except (PromptFilesError, OSError) as exc:
        state.gallery_new_error = str(exc)
        return
    state.gallery_new_error = None
    state.gallery_file = str(created)
    state.gallery_new_title = ""


def file_label(name: str) -> str:
    """prompts/ files by name; others with their folder's name (two part1.toml must not look the same)."""
    return display_name(name)


def pick_prompt_file(settings: FluxSettings, *, can_create: bool) -> Path:
    """A picker over the prompt files (this session's choice); the instructor may add one from a template."""
    state = st.session_state
    files = list_prompt_files(settings)
    names = [str(p) for p in files]
    if state.get("gallery_file") not in names:
        state.gallery_file = names[0]
    row = st.container(horizontal=True, vertical_alignment="bottom")
    chosen = row.selectbox("Prompt file", names, key="gallery_file", format_func=file_label,
                           width=360, help="prompts/*.toml and the folder DC_PROMPTS_DIR: one file per lecture "
                                           "or per student; each has its own images, handout and zip")
    if can_create:
        folder = prompt_folders()[-1]  # DC_PROMPTS_DIR when set, else prompts/
        with row.popover("New file from template", icon=":material/note_add:"):
            st.text_input("Title", key="gallery_new_title", placeholder="Lecture 3 · Guidance")
            st.button("Create", key="gallery_new_create", icon=":material/add:", on_click=_new_file, args=(folder,))
            if state.get("gallery_new_error"):
                st.error(md_escape(state.gallery_new_error), icon=":material/error:")
    return Path(chosen)
