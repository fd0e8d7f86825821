"""Save this tab's model as a zip (model.safetensors + config.json + losses.csv), or load one back."""

from __future__ import annotations

import streamlit as st

from app.text_to_image import session
from models.core.errors import InputError
from models.text_to_image.runs import MAX_ZIP_BYTES

ss = st.session_state


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
        upload = st.file_uploader("Load a saved model (.zip)", type=["zip"], key="t2i_zip_upload", disabled=running,
                                  max_upload_size=MAX_ZIP_BYTES // 1_000_000)
        if upload is not None and ss.get("t2i_zip_id") != upload.file_id:
            ss["t2i_zip_id"] = upload.file_id
            try:
                session.load_zip(upload.getvalue(), upload.name)
                ss.pop("t2i_zip_error", None)
                st.rerun()
            except InputError as exc:
                ss["t2i_zip_error"] = str(exc)
        if ss.get("t2i_zip_error"):
            st.error(ss.t2i_zip_error, icon=":material/error:")
