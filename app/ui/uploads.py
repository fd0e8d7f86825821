"""Students' uploaded CSVs and drawings: whose each one is, and a sweeper that deletes a closed tab's."""

from __future__ import annotations

import threading
import time

import streamlit as st

from app.ui.sessions import session_alive, session_id
from models.lab.uploads import forget_uploads, owner_key, prune_uploads

_uploads: dict[str, list[str]] = {}   # session id → the CSVs it uploaded (deleted when it goes)
_uploads_lock = threading.Lock()


def remember_upload(path) -> None:
    with _uploads_lock:
        _uploads.setdefault(session_id(), []).append(str(path))


def live_upload_owners() -> set[str]:
    """The upload folders (models.lab.uploads.owner_key) of the sessions still open, this one included:
    their files are never removed to make room for someone else's."""
    with _uploads_lock:
        owners = [owner for owner in _uploads if session_alive(owner)]
    return {owner_key(owner) for owner in owners + [session_id()]}


def _forget_closed_sessions_uploads() -> None:
    with _uploads_lock:
        gone = [owner for owner in _uploads if not session_alive(owner)]
        paths = [p for owner in gone for p in _uploads.pop(owner)]
    if paths:
        forget_uploads(paths)


@st.cache_resource
def upload_sweeper() -> threading.Thread:
    """From the first page view on (not from the first Train): a closed tab's uploads leave the disk."""
    prune_uploads()  # once per server start: what earlier runs of the app left behind

    def sweep():
        while True:
            time.sleep(5)
            _forget_closed_sessions_uploads()

    thread = threading.Thread(target=sweep, name="uploads-sweeper", daemon=True)
    thread.start()
    return thread
