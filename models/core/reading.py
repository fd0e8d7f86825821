"""Reading a file someone else may have made: only a regular file, and never more than a limit.

A run folder or an upload can hold a link to /dev/zero (read whole: gigabytes, then a MemoryError),
a named pipe (the read waits for ever) or a sparse file of gigabytes. `read_bounded` opens without
waiting, refuses anything but a regular file, and reads at most `limit` + 1 bytes, whatever size the
file claims.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from models.core.errors import InputError


def read_bounded(path: str | os.PathLike, limit: int, what: str = "file") -> bytes:
    """The bytes of `path`; InputError (one line naming `what`) when it is missing, not a regular file,
    unreadable or over `limit` bytes."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise InputError(f"{path} is missing") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{path} is not a regular file (a folder, a device or a pipe): not a {what}")
        if info.st_size > limit:
            raise InputError(f"{path} is too large ({info.st_size:,} bytes) to be a {what}")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise InputError(f"{path} is too large to be a {what}")
    return data
