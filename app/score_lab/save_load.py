"""Save a trained model as a zip (model.safetensors + config.json + losses.csv), or load one back."""

from __future__ import annotations

import streamlit as st

from app.score_lab import session
from models.core.errors import InputError
from models.lab.run_folder import MAX_ZIP_BYTES
from models.score import checkpoints
from models.score import run as training_run

ss = st.session_state


def save_load_ui(run, *, running: bool) -> None:
    s1, s2 = st.columns(2)
    with s1:
        _download(run, running)
    with s2:
        _upload(running)


def _download(run, running: bool) -> None:
    if run is not None and not running and run.model() is not None:
        blob = session.cached(("zip", run.id, run.steps_done), lambda: training_run.run_zip_bytes(run))
        st.download_button("Download model (.zip)", blob, file_name="score_lab_model.zip",
                           mime="application/zip", icon=":material/download:", key="sl_zip_download")
        st.caption("model.safetensors + config.json + losses.csv")
    else:
        st.caption("Train a model (and let it finish or stop it) to download it.")


def _upload(running: bool) -> None:
    """A zip is read once per file; a bad one says why and leaves the current run alone."""
    upload = st.file_uploader("Load a saved model (.zip)", type=["zip"], key="sl_zip_upload", disabled=running,
                              max_upload_size=MAX_ZIP_BYTES // 1_000_000)
    if upload is not None and ss.get("sl_zip_id") != upload.file_id:
        ss["sl_zip_id"] = upload.file_id
        try:
            model, history = checkpoints.load_run_zip(upload.getvalue(), upload.name)
            with st.spinner("Loading the model and computing its Bayes-optimal floor…"):
                session.set_loaded(model, history)
            ss.pop("sl_zip_error", None)
            st.rerun()
        except InputError as exc:
            ss["sl_zip_error"] = str(exc)
    if ss.get("sl_zip_error"):
        st.error(ss.sl_zip_error, icon=":material/error:")
