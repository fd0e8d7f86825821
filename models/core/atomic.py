"""Atomic writes: a temp file in the same folder, fsync, then `os.replace`.

A crash, a full disk or a reader racing the writer sees the old file or the new one,
never half of either. Every file this project writes goes through here; a folder of
files that belong together (a trained run) goes through `atomic_folder`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path next to `path`; on success it is fsynced and replaces `path` (keeping its permissions).

    The fsync is done here, not by the writer, so a temp file written by any library (safetensors,
    PIL, ...) is on disk before the rename makes it visible.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        _fsync(tmp)
        os.chmod(tmp, final.stat().st_mode & 0o7777 if final.exists() else 0o644)
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb", **open_kwargs) -> Iterator[IO]:
    """`open(path, mode)` that only becomes visible, whole, when the block succeeds."""
    with atomic_path(path) as tmp:
        with open(tmp, mode, **open_kwargs) as handle:
            yield handle


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(path: Path) -> None:
    """Make a rename inside `path` durable (not possible on every system: then skipped)."""
    try:
        _fsync(str(path))
    except OSError:
        pass


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_file(path, "wb") as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """UTF-8, newlines written exactly as given (no platform translation)."""
    with atomic_file(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return Path(path)


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty hidden temp folder next to `path`; when the block succeeds it becomes `path`.

    Files written into it (with `write_synced`) appear at `path` together or not at all. An
    existing `path` is renamed aside, the new folder renamed in, then the old one deleted: a
    crash leaves the old folder or the new one at `path` (or, between the two renames, the old
    one under a hidden `.NAME.old-*` name beside it). The CALLER decides whether an existing
    `path` may be replaced: this deletes whatever is there.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.new-", dir=final.parent))
    try:
        yield tmp
        _fsync_folder(tmp)
        if final.exists() or final.is_symlink():
            aside = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
            os.replace(final, aside / final.name)
            try:
                os.replace(tmp, final)
            except BaseException:
                os.replace(aside / final.name, final)  # put the old one back
                raise
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.replace(tmp, final)
        _fsync_folder(final.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already when the rename succeeded


def write_synced(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` and fsync it (for a file inside an `atomic_folder`, which is renamed as a whole)."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return Path(path)


def file_in_the_way(path: str | os.PathLike) -> Path | None:
    """The nearest existing parent of `path` when it is a file (nothing can be written under it)."""
    for parent in Path(path).parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None
