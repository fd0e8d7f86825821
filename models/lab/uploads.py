"""Uploaded CSVs kept on disk: `DatasetSpec.csv` needs a path, and a run must find its data again.

They live under the system temp folder as UPLOAD_DIR/<owner>/<content>/<name>, where <owner> is a
hash of the browser session that uploaded it. Bounded twice, so a classroom of uploads can neither
fill the disk nor take a classmate's file away:

* each session keeps at most MAX_SESSION_FILES files and MAX_SESSION_BYTES bytes: its own oldest
  uploads make room for its new one;
* the server keeps at most MAX_UPLOAD_FILES files and MAX_UPLOAD_BYTES bytes: closed sessions'
  uploads make room (oldest first), never a file of a session that is still open. When open
  sessions' files fill it, a new upload is refused (`UploadRefused`), nothing is deleted.

A file older than a day goes whoever uploaded it. A session's own files go when it ends (the app
calls `forget_uploads(paths)`); `prune_uploads` also runs at start.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Iterable

from models.core.atomic import atomic_write_bytes
from models.core.errors import InputError

UPLOAD_DIR = Path(tempfile.gettempdir()) / "diffusion-classroom-uploads"
MAX_SESSION_FILES = 4
MAX_SESSION_BYTES = 100 * 2**20      # three CSVs at the 32 MB limit (points_csv.MAX_CSV_BYTES)
MAX_UPLOAD_FILES = 400
MAX_UPLOAD_BYTES = 2 * 2**30         # a class of 60, each with a 32 MB CSV
MAX_UPLOAD_AGE_S = 24 * 3600


class UploadRefused(InputError):
    """The server's upload space is full of files that open sessions use."""


def owner_key(owner: str) -> str:
    """The folder name of a session's uploads (a hash: a session id is not written to disk)."""
    return hashlib.sha1(f"owner\0{owner}".encode()).hexdigest()[:16]


def save_upload(name: str, content: bytes, folder: Path = UPLOAD_DIR, owner: str = "",
                live_owners: Iterable[str] | None = None) -> Path:
    """Write an upload atomically as <owner>/<content hash>/<name> (same owner and content → same path).

    `owner` (a session id) keeps two sessions that upload the same file apart, so one forgetting
    its uploads never removes the other's. `live_owners`: the owner_key of every open session (their
    files are never removed to make room). Raises UploadRefused, writing nothing, when only open
    sessions' files are left and the new one does not fit.
    """
    key = owner_key(owner)
    digest = hashlib.sha1(content).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name).name).lstrip(".") or "points.csv"
    path = Path(folder) / key / digest / safe
    if path.exists():
        os.utime(path)  # used again: its day starts now
        return path
    # This session's quota: its own oldest uploads make room.
    own = _files(Path(folder) / key, "*/*")
    n_files, n_bytes = len(own) + 1, sum(size for _, size, _ in own) + len(content)
    for _, size, old in own:
        if n_files <= MAX_SESSION_FILES and n_bytes <= MAX_SESSION_BYTES:
            break
        _remove(old, Path(folder))
        n_files, n_bytes = n_files - 1, n_bytes - size
    # The server's bound: closed sessions' uploads make room, other open ones' never (this session's
    # own older ones may: it is the one asking for room).
    others = set(live_owners or ()) - {key}
    left_files, left_bytes = prune_uploads(folder, live_owners=others, extra=(1, len(content)))
    if left_files and (left_files + 1 > MAX_UPLOAD_FILES or left_bytes + len(content) > MAX_UPLOAD_BYTES):
        raise UploadRefused(
            f"the server's upload space is full ({left_bytes / 2**20:.0f} MB in {left_files} files of open "
            f"sessions, at most {MAX_UPLOAD_BYTES / 2**20:.0f} MB): try again when classmates have closed their "
            "tabs, or pick a built-in shape")
    atomic_write_bytes(path, content)
    return path


def prune_uploads(folder: Path = UPLOAD_DIR, live_owners: Iterable[str] | None = None,
                  extra: tuple[int, int] = (0, 0)) -> tuple[int, int]:
    """Remove uploads older than MAX_UPLOAD_AGE_S, then the oldest until the count and byte bounds hold
    (with room for `extra` = (files, bytes) more); files of `live_owners` are never removed.

    Returns the (files, bytes) left. Safe to run from several threads at once: a file another pruner
    removed first is simply skipped.
    """
    live = set(live_owners or ())
    too_old = time.time() - MAX_UPLOAD_AGE_S
    root = Path(folder)
    files = _files(root, "*/*/*") + _files(root, "*/*")  # the second: uploads kept before owner folders
    protected = [(m, s, p) for m, s, p in files if _owner_of(p, root) in live]
    prunable = [(m, s, p) for m, s, p in files if _owner_of(p, root) not in live]
    total_files = len(files) + extra[0]
    total_bytes = sum(size for _, size, _ in files) + extra[1]
    for mtime, size, path in prunable:  # oldest first
        if mtime >= too_old and total_files <= MAX_UPLOAD_FILES and total_bytes <= MAX_UPLOAD_BYTES:
            break
        _remove(path, root)
        total_files, total_bytes = total_files - 1, total_bytes - size
    return total_files - extra[0], total_bytes - extra[1]


def forget_uploads(paths: Iterable[str | os.PathLike], folder: Path = UPLOAD_DIR) -> None:
    """Delete these uploads (a session's, when it ends). Only files inside `folder` are touched."""
    root = Path(folder).resolve()
    for p in paths:
        path = Path(p).resolve()
        if root in (path.parent.parent.parent, path.parent.parent) and path.is_file():
            _remove(path, root)


def _files(folder: Path, pattern: str) -> list[tuple[float, int, Path]]:
    """(mtime, size, path) of the uploads under `folder`, oldest first; an atomic write's fresh temp file
    is not one (an orphaned one, a day old, is)."""
    too_old = time.time() - MAX_UPLOAD_AGE_S
    found = []
    for path in folder.glob(pattern):
        try:
            st = path.stat()
        except OSError:
            continue
        if not path.is_file() or (path.name.startswith(".") and st.st_mtime >= too_old):
            continue
        found.append((st.st_mtime, st.st_size, path))
    return sorted(found)


def _owner_of(path: Path, root: Path) -> str | None:
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) == 3 else None


def _remove(path: Path, root: Path) -> None:
    """Delete an upload, and its content and owner folders once they are empty (never `root`)."""
    path.unlink(missing_ok=True)
    for parent in (path.parent, path.parent.parent):
        if parent.resolve() == Path(root).resolve():
            break
        try:
            parent.rmdir()
        except OSError:  # not empty (an atomic write in progress, another upload) or already gone
            break
