"""Save a trained model as a zip (model.safetensors + config.json + losses.csv), or load one back."""

from __future__ import annotations

import streamlit as st

from app.score_lab import session
from app.ui.zip_upload import zip_upload
from models.lab.run_folder import MAX_ZIP_BYTES
from models.score import checkpoints
from models.score import run as training_run


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
    def load(content: bytes, name: str) -> None:
        session.set_loaded(*checkpoints.load_run_zip(content, name))

    zip_upload("sl", load, max_bytes=MAX_ZIP_BYTES, disabled=running,
               spinner="Loading the model and computing its Bayes-optimal floor…")
