"""Save this tab's model as a zip (model.safetensors + config.json + losses.csv), or load one back."""

from __future__ import annotations

import streamlit as st

from app.text_to_image import session
from app.ui.zip_upload import zip_upload
from models.text_to_image.runs import MAX_ZIP_BYTES


def save_load_ui(run, *, running: bool) -> None:
    s1, s2 = st.columns(2)
    with s1:
        if run is not None and not running and run.model is not None:
            blob = session.cached(("zip", run.id, run.steps_done), run.zip_bytes)
            st.download_button("Download model (.zip)", blob, file_name="text_to_image_digits.zip",
                               mime="application/zip", icon=":material/download:", key="t2i_zip_download")
            st.caption("model.safetensors + config.json (with the tokens seen in training) + losses.csv; "
                       "`python -m models.text_to_image sample --run FOLDER` reads it unzipped.")
        else:
            st.caption("Train a model (and let it finish or stop it) to download it.")
    with s2:
        zip_upload("t2i", session.load_zip, max_bytes=MAX_ZIP_BYTES, disabled=running)
