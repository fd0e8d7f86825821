"""CSV files of 2-D points: read a user's file (strictly, one-line errors with the line), write samples.

A CSV may come from anyone (the Score lab uploads one), so reading is bounded: at most
MAX_CSV_BYTES are read and MAX_CSV_ROWS rows kept, and every coordinate must be a finite
number no larger than MAX_COORDINATE (float32 squares of larger ones overflow when the
spread is computed).
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import IO, Union

import torch

from models.core.atomic import atomic_write_text
from models.core.errors import InputError

MAX_CSV_ROWS = 200_000
MAX_CSV_BYTES = 32 * 2**20  # far more than 200k rows of x,y need; stops a huge file early
MIN_CSV_ROWS = 10
MAX_COORDINATE = 1e9        # far beyond any 2-D toy; (1e9)² still fits a float32 variance

PathOrBuffer = Union[str, os.PathLike, IO[str], IO[bytes]]


def _read_text(path_or_buffer: PathOrBuffer) -> tuple[str, str]:
    """The file's text and a short name for messages."""
    if isinstance(path_or_buffer, (str, os.PathLike)):
        path = Path(path_or_buffer)
        label = path.name or str(path)
        # Messages name the file, not its folder: the Score lab shows them, and an upload lives in a
        # server folder that is not the class's to see.
        if not path.exists():
            raise InputError(f"CSV file not found: {label}")
        if path.is_dir():
            raise InputError(f"{label} is a folder, not a CSV file")
        try:
            with path.open("rb") as f:
                raw: str | bytes = f.read(MAX_CSV_BYTES + 1)
        except OSError as e:
            raise InputError(f"cannot read {label}: {e.strerror or type(e).__name__}") from None
    else:
        label = Path(str(getattr(path_or_buffer, "name", "uploaded file"))).name
        if getattr(path_or_buffer, "seekable", lambda: False)():
            path_or_buffer.seek(0)  # an upload widget's buffer may have been read already
        raw = path_or_buffer.read(MAX_CSV_BYTES + 1)
    if len(raw) > MAX_CSV_BYTES:
        raise InputError(f"{label} is larger than {MAX_CSV_BYTES // 2**20} MB; at most {MAX_CSV_ROWS:,} points are allowed")
    if isinstance(raw, (bytes, bytearray, memoryview)):
        try:
            raw = bytes(raw).decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise InputError(f"{label} is not a text file (could not decode as UTF-8)") from e
    return raw.lstrip("\ufeff"), label


def _clean(field: str) -> str:
    # the csv module already removed standard "double quotes"; this also forgives
    # spaces around a field and 'single quotes'
    return field.strip().strip('"').strip("'").strip()


def _csv_rows(text: str, label: str) -> list[tuple[int, list[str]]]:
    """(line number, cleaned fields) of each non-blank row; stops after MAX_CSV_ROWS + 2 rows
    (a header and one too many): enough to say the file is too long without holding it all."""
    reader = csv.reader(io.StringIO(text, newline=None), skipinitialspace=True)  # None: \r\n and \r end lines too
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            fields = [_clean(f) for f in row]
            if fields in ([], [""]):  # a blank line
                continue
            rows.append((reader.line_num, fields))
            if len(rows) > MAX_CSV_ROWS + 1:
                break
    except csv.Error as e:
        raise InputError(f"{label}, line {reader.line_num}: {e}") from None
    return rows


def _parse_float(field: str) -> float | None:
    try:
        return float(field)
    except ValueError:
        return None


def read_points_csv(path_or_buffer: PathOrBuffer) -> torch.Tensor:
    """Read 2-D points from a CSV with x,y columns (comma separated, header optional).

    The first row is a header when none of its fields is a number. With a header that
    names `x` and `y` columns those are used (other columns are ignored); otherwise every
    row must have exactly two numbers. Fields may be "quoted"; blank lines are skipped.
    Raises `InputError` with a one-line message (and the line number) for anything that
    is not a clean point list.
    """
    text, label = _read_text(path_or_buffer)
    lines = _csv_rows(text, label)
    if not lines:
        raise InputError(f"{label} is empty: expected rows of x,y numbers")

    first_no, first_fields = lines[0]
    cols = (0, 1)
    width = 2
    if all(_parse_float(f) is None for f in first_fields):  # a header row: no numbers in it
        names = [f.lower() for f in first_fields]
        if "x" in names and "y" in names:
            cols = (names.index("x"), names.index("y"))
            width = len(names)
        elif len(names) == 2:
            width = 2
        else:
            raise _column_error(label, first_no, first_fields, header=True)
        lines = lines[1:]
    elif len(first_fields) != 2:
        raise _column_error(label, first_no, first_fields, header=False)

    if len(lines) > MAX_CSV_ROWS:
        raise InputError(f"{label} has more than {MAX_CSV_ROWS:,} rows; at most {MAX_CSV_ROWS:,} points are allowed")
    if len(lines) < MIN_CSV_ROWS:
        rows = f"{len(lines)} point row" + ("" if len(lines) == 1 else "s")
        raise InputError(f"{label} has only {rows}; at least {MIN_CSV_ROWS} are needed")

    values: list[tuple[float, float]] = []
    for line_no, fields in lines:
        if len(fields) != width:
            raise _column_error(label, line_no, fields, header=False, expected=width)
        pair = []
        for c in cols:
            v = _parse_float(fields[c])
            if v is None:
                raise InputError(f"{label}, line {line_no}: {fields[c]!r} is not a number")
            if not math.isfinite(v):
                raise InputError(f"{label}, line {line_no}: {fields[c]!r} is not a finite number")
            if abs(v) > MAX_COORDINATE:
                raise InputError(f"{label}, line {line_no}: {fields[c]!r} is too large: coordinates must be "
                                 f"between -{MAX_COORDINATE:g} and {MAX_COORDINATE:g}")
            pair.append(v)
        values.append((pair[0], pair[1]))
    return torch.tensor(values, dtype=torch.float32)


def _column_error(label: str, line_no: int, fields: list[str], header: bool, expected: int = 2) -> InputError:
    got, hint = len(fields), ""
    if got == 1 and (";" in fields[0] or "\t" in fields[0]):
        hint = " (the separator must be a comma, not ';' or a tab)"
    if header:
        return InputError(
            f"{label}, line {line_no}: the header has {got} columns but no 'x' and 'y' names; "
            f"use two columns x,y{hint}"
        )
    what = "one column" if got == 1 else f"{got} columns"
    return InputError(f"{label}, line {line_no}: {what} found, expected {expected} (x,y){hint}")


def write_points_csv(points, path: str | os.PathLike) -> Path:
    """Write (N, 2) points as a CSV with header `x,y`, atomically. Returns the path."""
    pts = torch.as_tensor(points).detach().to("cpu", torch.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {tuple(pts.shape)}")
    buf = io.StringIO()
    buf.write("x,y\n")
    for x, y in pts.tolist():
        buf.write(f"{x:.9g},{y:.9g}\n")  # 9 significant digits round-trip float32 exactly
    path = Path(path)
    atomic_write_text(path, buf.getvalue())
    return path
