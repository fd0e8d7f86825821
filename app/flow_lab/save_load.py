"""Save any of this tab's flows as a zip (the Score lab's layout), or load one back into its slot."""

from __future__ import annotations

import streamlit as st

from app.flow_lab import session
from app.ui.zip_upload import zip_upload
from models.flow import run as flow
from models.flow.checkpoints import load_flow_zip
from models.lab.run_folder import MAX_ZIP_BYTES


def save_load_ui() -> None:
    s1, s2 = st.columns(2)
    with s1:
        for slot, what in (("main", "the flow"), ("reflow", "the reflow"), ("guided", "the class-conditional flow")):
            saved = session.current(slot)
            if saved is not None and not saved.running and saved.model() is not None:
                blob = session.cached(("zip", saved.id, saved.steps_done), lambda: flow.run_zip_bytes(saved))
                st.download_button(f"Download {what} (.zip)", blob, file_name=f"flow_{slot}.zip",
                                   mime="application/zip", icon=":material/download:", key=f"fx_zip_{slot}")
        st.caption("model.safetensors + config.json + losses.csv, the Score lab's layout (`\"kind\": \"flow\"`).")
    with s2:
        zip_upload("fx", _load, max_bytes=MAX_ZIP_BYTES, disabled=session.any_running(),
                   label="Load a saved flow (.zip)")


def _load(content: bytes, name: str) -> None:
    loaded, history, names = load_flow_zip(content, name)
    session.set_loaded(flow.loaded_flow_run(loaded, history, names))
