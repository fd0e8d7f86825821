"""What every part of the gallery page works on, and the page's heading."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from app.gallery.backend import Backend
from app.gallery.messages import md_escape, show_load_error
from models.flux import FluxError
from models.flux.generate import Generator
from models.flux.prompt_edits import PromptEdits
from models.flux.prompt_file import PromptFile
from models.flux.prompt_files import display_name
from models.flux.settings import FluxSettings, load_settings
from models.flux.store import ImageStore


@dataclass(frozen=True)
class Lesson:
    """The prompt file as this session sees it, who may edit it, and the model that draws its images."""

    path: Path
    settings: FluxSettings
    pf: PromptFile
    edits: PromptEdits
    editable: bool  # may this session change the file (app/ui/access.py); callbacks ask again when they run
    backend: Backend
    generator: Generator
    busy: bool      # this session's generation job is in progress

    @property
    def store(self) -> ImageStore:
        return self.generator.store

    @property
    def can_generate(self) -> bool:
        return self.backend.model_id is not None


def settings_or_stop() -> FluxSettings:
    try:
        return load_settings()
    except FluxError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()


def broken_file_ui(heading, path: Path) -> None:
    """A file that cannot be read, with no earlier copy to show: say where, offer a reload, stop."""
    heading.title("FLUX gallery")
    show_load_error(path, st.session_state.gallery_load_error)
    if st.button("Reload from disk", key="gallery_reload_broken", icon=":material/refresh:"):
        st.rerun()
    st.stop()


def heading_ui(heading, pf: PromptFile, path: Path, settings: FluxSettings, *, editable: bool) -> None:
    """The file's title, the link to the 2-D flow, where things are, and whether this session edits."""
    heading.title(pf.title or "FLUX gallery")
    heading.page_link("views/how_flux_samples.py",
                      label="How FLUX samples: these images come from a flow; see it in 2-D", icon=":material/air:")
    if editable:  # the server's folders are the instructor's business, not the class network's
        st.caption(f"Prompt file: `{path}` · images: `{settings.output_dir}`")
    if not editable:
        st.caption(":material/lock: Read-only: the instructor edits this lesson. You can look at everything "
                   "and generate images.")
    if st.session_state.get("gallery_disk_error") is not None:
        shown = st.session_state.gallery_disk_error.shown(display_name(path))
        st.warning(f"The file on disk cannot be read now ({md_escape(shown)}); "
                   "this page shows it as it was last read.", icon=":material/warning:")
