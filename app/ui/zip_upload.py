"""The file box that loads a saved run's zip, shared by the pages that train (Score lab, How FLUX samples,
Text to image)."""

from __future__ import annotations

import contextlib
from typing import Callable

import streamlit as st

from models.core.errors import InputError


def zip_upload(prefix: str, load: Callable[[bytes, str], None], *, max_bytes: int, disabled: bool,
               label: str = "Load a saved model (.zip)", spinner: str | None = None) -> None:
    """`load(content, name)` makes the zip the page's run, then the page reruns. A file is read once (a
    rerun does not load it again); a bad one is said under the box (`load` raises InputError) and the
    current run stays. Widget and state keys start with `prefix`."""
    ss = st.session_state
    upload = st.file_uploader(label, type=["zip"], key=f"{prefix}_zip_upload", disabled=disabled,
                              max_upload_size=max_bytes // 1_000_000)
    if upload is not None and ss.get(f"{prefix}_zip_id") != upload.file_id:
        ss[f"{prefix}_zip_id"] = upload.file_id
        try:
            with st.spinner(spinner) if spinner else contextlib.nullcontext():
                load(upload.getvalue(), upload.name)
            ss.pop(f"{prefix}_zip_error", None)
            st.rerun()
        except InputError as exc:
            ss[f"{prefix}_zip_error"] = str(exc)
    if ss.get(f"{prefix}_zip_error"):
        st.error(ss[f"{prefix}_zip_error"], icon=":material/error:")
