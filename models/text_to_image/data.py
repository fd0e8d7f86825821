"""The 1,797 handwritten 8×8 digits that ship inside the scikit-learn wheel, read as a data file.

`sklearn/datasets/data/digits.csv.gz` holds one digit per row: 64 pixel values 0–16 (row by row,
0 = background) and then the label. scikit-learn is installed with --no-deps (requirements-nodeps.txt)
and never imported: importing it would pull scipy, and the data is all we use. The file is found with
`importlib.util.find_spec`, which locates a package without running it.

Images are kept as floats in [0, 1] (0 = background). The flow works in [−1, 1] (`to_model`), so that
the data and the N(0, I) noise have comparable scales.
"""

from __future__ import annotations

import gzip
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

import torch

from models.core.errors import InputError

SIDE = 8
PIXELS = SIDE * SIDE
N_DIGITS = 1797
MAX_INK = 16  # the file's pixel values run from 0 to 16
DATA_FILE = Path("datasets") / "data" / "digits.csv.gz"  # inside the sklearn package folder


class DigitsMissing(InputError):
    """scikit-learn's data file is not installed (or not the file we expect)."""


@dataclass(frozen=True)
class Digits:
    images: torch.Tensor  # (N, 8, 8) float32 in [0, 1], 0 = background
    labels: torch.Tensor  # (N,) int64, 0–9

    def __len__(self) -> int:
        return len(self.labels)


def digits_file() -> Path:
    """Where the wheel put digits.csv.gz (found without importing sklearn)."""
    spec = importlib.util.find_spec("sklearn")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(folder) / DATA_FILE
        if path.is_file():
            return path
    raise DigitsMissing("the 8×8 digits are not installed: run `make run` once, or "
                        ".venv/bin/pip install --no-deps -r requirements-nodeps.txt")


def parse_digits(raw: bytes) -> Digits:
    """The unzipped CSV text → Digits (every row checked: 65 whole numbers, pixels 0–16, label 0–9)."""
    rows = [line.split(",") for line in raw.decode("ascii").splitlines() if line.strip()]
    if len(rows) != N_DIGITS or any(len(r) != PIXELS + 1 for r in rows):
        raise DigitsMissing(f"{digits_file()} is not scikit-learn's digits file (expected {N_DIGITS} rows of 65)")
    values = torch.tensor([[int(float(v)) for v in r] for r in rows], dtype=torch.int64)
    pixels, labels = values[:, :PIXELS], values[:, PIXELS]
    if pixels.min() < 0 or pixels.max() > MAX_INK or labels.min() < 0 or labels.max() > 9:
        raise DigitsMissing(f"{digits_file()} holds values outside 0–16 or labels outside 0–9")
    return Digits(images=(pixels.float() / MAX_INK).reshape(-1, SIDE, SIDE), labels=labels)


_lock = threading.Lock()
_cache: list[Digits] = []


def load_digits() -> Digits:
    """All 1,797 digits, read once per process (57 kB, ~30 ms)."""
    with _lock:
        if not _cache:
            with gzip.open(digits_file(), "rb") as f:
                _cache.append(parse_digits(f.read()))
        return _cache[0]


def to_model(images: torch.Tensor) -> torch.Tensor:
    """(N, 8, 8) in [0, 1] → (N, 64) in [−1, 1], the flow's data coordinates."""
    return images.reshape(len(images), PIXELS) * 2 - 1


def from_model(x: torch.Tensor) -> torch.Tensor:
    """(N, 64) flow coordinates → (N, 8, 8) images in [0, 1] (clipped: a sample may overshoot)."""
    return ((x.reshape(len(x), SIDE, SIDE) + 1) / 2).clamp(0, 1)
