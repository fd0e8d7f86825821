"""Atomic writes: a temp file in the same folder, fsync, then `os.replace`.

A crash, a full disk or a reader racing the writer sees the old file or the new one,
never half of either. Every file this project writes goes through here; a folder of
files that belong together (a trained run) goes through `atomic_folder`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import IO, Iterator


class NotRegularFile(OSError):
    """The path is something a write must never replace: a block device, a socket, ..."""


def _stream_kind(final: Path) -> str | None:
    """"stream" for a character device or a pipe (written through, like the shell's `>`), None for a
    regular file or nothing there; NotRegularFile for anything else, which is never replaced (as root,
    a rename over /dev/null made it a regular file)."""
    try:
        mode = final.stat().st_mode  # links followed: a link to /dev/null is /dev/null
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):  # a folder fails at the rename, as before
        return None
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return "stream"
    what = "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "a special file"
    raise NotRegularFile(f"cannot write {final}: it is {what}, not a regular file")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path next to `path`; on success it is fsynced and replaces `path` (keeping its permissions).

    The fsync is done here, not by the writer, so a temp file written by any library (safetensors,
    PIL, ...) is on disk before the rename makes it visible. A character device or a pipe at `path`
    (`--out /dev/null`) is written through, never replaced; a block device or a socket is refused.
    """
    final = Path(path)
    if _stream_kind(final) == "stream":
        with _written_through(final) as tmp:
            yield tmp
        return
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_files(final)
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        _fsync(tmp)
        os.chmod(tmp, final.stat().st_mode & 0o7777 if final.exists() else 0o644)
        if _stream_kind(final) == "stream":  # it became a device meanwhile: still never replace it
            _copy_into(Path(tmp), final)
        else:
            os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    else:
        Path(tmp).unlink(missing_ok=True)


def _remove_stale_temp_files(final: Path) -> None:
    """A write killed before its rename (SIGKILL, power cut) left its hidden temp file beside `final`:
    the next write of the same file removes those older than STALE_AFTER_S (younger ones may be another
    process writing now). The glob is mkstemp's exact shape, so another file's temp files never match."""
    now = time.time()
    for old in final.parent.glob(glob.escape(f".{final.name}.") + "?" * 8 + ".tmp"):
        try:
            if now - old.lstat().st_mtime >= STALE_AFTER_S:
                old.unlink()
        except OSError:
            continue


@contextlib.contextmanager
def _written_through(final: Path) -> Iterator[Path]:
    """A temp file in the system's temp folder (not in /dev), copied into the device or pipe at the end."""
    fd, tmp = tempfile.mkstemp(prefix=".atomic-", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        _copy_into(Path(tmp), final)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _copy_into(source: Path, stream: Path) -> None:
    with open(source, "rb") as src, open(stream, "wb") as out:
        shutil.copyfileobj(src, out)


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


STALE_AFTER_S = 3600.0  # a `.NAME.new-*` folder or `.NAME.*.tmp` file this old is a killed write's, not one in progress


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An OS lock on `folder` itself (no lock file left behind): swaps and recoveries in it take turns."""
    try:
        import fcntl
    except ImportError:  # no fcntl (Windows): one process at a time is assumed
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def recover_folder(path: str | os.PathLike, stale_after_s: float = STALE_AFTER_S) -> None:
    """Undo what a killed `atomic_folder` left beside `path`; call it before reading or replacing `path`.

    Killed between its two renames, a replace left `path` missing and the old folder under a hidden
    `.NAME.old-*/NAME`: it is put back (the replace never happened). An old folder kept after the new
    one is in place is deleted, and so is a `.NAME.new-*` folder older than `stale_after_s` (a write
    killed half way; a younger one may be another process writing now).
    """
    final = Path(path)
    parent = final.parent
    if not parent.is_dir():
        return
    pattern = glob.escape(f".{final.name}")
    with _folder_lock(parent):
        olds = sorted(parent.glob(f"{pattern}.old-*"), key=lambda p: p.stat().st_mtime)
        if not final.exists() and not final.is_symlink():
            for aside in reversed(olds):  # the newest old folder is the run as it was
                if (aside / final.name).exists():
                    os.replace(aside / final.name, final)
                    break
        for aside in olds:
            shutil.rmtree(aside, ignore_errors=True)
        now = time.time()
        for new in parent.glob(f"{pattern}.new-*"):
            try:
                if now - new.stat().st_mtime >= stale_after_s:
                    shutil.rmtree(new, ignore_errors=True)
            except OSError:
                continue
        _fsync_folder(parent)


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty hidden temp folder next to `path`; when the block succeeds it becomes `path`.

    Files written into it (with `write_synced`) appear at `path` together or not at all. An
    existing `path` is renamed aside, the new folder renamed in, then the old one deleted: a
    crash leaves the old folder or the new one at `path` (or, killed between the two renames, the
    old one under a hidden `.NAME.old-*` name beside it, which `recover_folder` puts back: every
    reader and writer of a run calls it first). The CALLER decides whether an existing `path` may
    be replaced: this deletes whatever is there.
    """
    final = Path(path)
    try:
        mode = final.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    if mode is not None and not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        raise NotRegularFile(f"cannot write {final}: it is a device or a special file, not a folder")
    final.parent.mkdir(parents=True, exist_ok=True)
    recover_folder(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.new-", dir=final.parent))
    try:
        yield tmp
        _fsync_folder(tmp)
        with _folder_lock(final.parent):  # a recovery never sees the swap half done
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


def _same(a: Path, b: Path) -> bool:
    """The same file: one path, through links, or a hard link of it."""
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except (OSError, RuntimeError):
        return False


def output_clash(outputs: dict[str, str | os.PathLike | None],
                 inputs: dict[str, str | os.PathLike | None] | None = None,
                 inside: dict[str, str | os.PathLike | None] | None = None) -> str | None:
    """Why these outputs must not be written (None: they may), for a command line's one-line error.

    outputs, inputs: {what it is ("--zip", "the prompt file"): path}; `inside`: {what: folder} that no
    output may lie in (a run folder, whose files would be replaced one by one). Refuses an output that
    is an input, lies inside such a folder, or is the same file as another output; links and hard
    links are followed. None values are skipped.
    """
    outs = [(name, Path(p)) for name, p in outputs.items() if p is not None]
    for i, (name, path) in enumerate(outs):
        for other, other_path in outs[:i]:
            if _same(path, other_path):
                return f"{other} and {name} are both {path}: give each output its own file"
        for what, source in (inputs or {}).items():
            if source is not None and _same(path, Path(source)):
                return f"{name} {path} is {what}: it would be overwritten; write the output somewhere else"
        for what, folder in (inside or {}).items():
            if folder is None:
                continue
            try:
                within = path.resolve().is_relative_to(Path(folder).resolve())
            except (OSError, RuntimeError):
                within = False
            if within:
                return f"{name} {path} lies inside {what}: it would change it; write the output somewhere else"
    return None
