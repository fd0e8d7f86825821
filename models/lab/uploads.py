"""Uploaded CSVs kept on disk: `DatasetSpec.csv` needs a path, and a run must find its data again.

They live under the system temp folder, bounded so a classroom of uploads cannot fill the
disk: a file older than a day goes, then the oldest go until at most MAX_UPLOAD_FILES files
and MAX_UPLOAD_BYTES bytes are left (checked on every save; `prune_uploads` at start). A
session's own files go when it ends: the app calls `forget_uploads(paths)`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Iterable

from models.core.atomic import atomic_write_bytes

UPLOAD_DIR = Path(tempfile.gettempdir()) / "diffusion-classroom-uploads"
MAX_UPLOAD_FILES = 200
MAX_UPLOAD_BYTES = 500 * 2**20   # each CSV is at most 32 MB (points_csv.MAX_CSV_BYTES)
MAX_UPLOAD_AGE_S = 24 * 3600


def save_upload(name: str, content: bytes, folder: Path = UPLOAD_DIR, owner: str = "") -> Path:
    """Write an upload atomically under a folder named by its owner and content (same both → same path).

    `owner` (a session id) keeps two sessions that upload the same file apart, so one forgetting
    its uploads never removes the other's. Older uploads are pruned afterwards (never this one).
    """
    digest = hashlib.sha1(owner.encode() + b"\0" + content).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name).name).lstrip(".") or "points.csv"
    path = Path(folder) / digest / safe
    if path.exists():
        os.utime(path)  # used again: its day starts now
    else:
        atomic_write_bytes(path, content)
    prune_uploads(folder, keep=path)
    return path


def prune_uploads(folder: Path = UPLOAD_DIR, keep: Path | None = None) -> list[Path]:
    """Remove uploads older than MAX_UPLOAD_AGE_S, then the oldest until the count and byte bounds hold.

    `keep` (the upload just saved) is never removed. Returns what was removed. Safe to run from
    several threads at once: a file another pruner removed first is simply skipped.
    """
    too_old = time.time() - MAX_UPLOAD_AGE_S
    files = []
    for path in Path(folder).glob("*/*"):
        try:
            st = path.stat()
        except OSError:
            continue
        in_progress = path.name.startswith(".") and st.st_mtime >= too_old  # an atomic write's temp file
        if path.is_file() and path != keep and not in_progress:
            files.append((st.st_mtime, st.st_size, path))
    files.sort()  # oldest first
    total_files = len(files) + (keep is not None)
    total_bytes = sum(size for _, size, _ in files) + (_size(keep) if keep is not None else 0)
    removed = []
    for mtime, size, path in files:
        if mtime >= too_old and total_files <= MAX_UPLOAD_FILES and total_bytes <= MAX_UPLOAD_BYTES:
            break
        _remove(path)
        removed.append(path)
        total_files, total_bytes = total_files - 1, total_bytes - size
    return removed


def forget_uploads(paths: Iterable[str | os.PathLike], folder: Path = UPLOAD_DIR) -> None:
    """Delete these uploads (a session's, when it ends). Only files inside `folder` are touched."""
    root = Path(folder).resolve()
    for p in paths:
        path = Path(p).resolve()
        if path.parent.parent == root and path.is_file():
            _remove(path)


def _remove(path: Path) -> None:
    """Delete an upload and its owner/content folder once that is empty."""
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()
    except OSError:  # not empty (an atomic write in progress) or already gone
        pass


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
