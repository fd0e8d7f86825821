"""2-D toy datasets: the built-in shapes, a user's CSV of points (points_csv.py), and a word drawn as points.

Every built-in shape is standardized with FIXED constants (worked out in closed form
below, not estimated from each draw), so two draws with different seeds live in the
same coordinates and the overall spread is about 1 (√(mean per-axis variance) ≈ 1).
The two Gaussian mixtures are exact `GaussianMixture` objects, so their noisy scores
are known exactly and can be used as ground truth.

All randomness goes through a local `torch.Generator`: the same seed gives the same points.
"""

from __future__ import annotations

import difflib
import math
import operator
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from models.core.errors import InputError
from models.lab.checks import MAX_POINTS
from models.lab.mixture import GaussianMixture
from models.lab.points_csv import (  # noqa: F401  (re-exported: the CSV half of "datasets")
    MAX_COORDINATE, MAX_CSV_BYTES, MAX_CSV_ROWS, MIN_CSV_ROWS, read_points_csv, write_points_csv,
)

DATASET_NAMES: tuple[str, ...] = (
    "moons",
    "swiss-roll",
    "8-gaussians",
    "checkerboard",
    "spirals",
    "circles",
    "ncsn-mixture",
)

DATASET_DESCRIPTIONS: dict[str, str] = {
    "moons": "Two interleaving half circles (noise 0.05 before scaling).",
    "swiss-roll": "A 2-D swiss roll: one long arm curling 1.5 turns.",
    "8-gaussians": "8 round Gaussians (std 0.1) evenly spaced on a circle of radius 2.",
    "checkerboard": "Uniform points on the 8 dark squares of a 4×4 checkerboard.",
    "spirals": "Two interleaved spiral arms.",
    "circles": "Two concentric circles, the inner one half the radius of the outer.",
    "ncsn-mixture": "NCSN paper toy: 0.2·N((−5,−5), I) + 0.8·N((5,5), I), not standardized.",
}

MAX_TEXT_CHARS = 24

# --- fixed standardization constants (closed forms; see the tests for a numeric check) ---
# moons: moon 1 (cos t, sin t), moon 2 (1 − cos t, ½ − sin t), t ~ U[0, π], each half the points.
#   mean = (½, ¼); E[x²] = 1, E[y²] = 5/8 − 1/π; plus noise variance 0.05².
_MOONS_NOISE = 0.05
_MOONS_MEAN = (0.5, 0.25)
_MOONS_SCALE = math.sqrt(((1.0 - 0.25) + (5 / 8 - 1 / math.pi - 0.0625)) / 2 + _MOONS_NOISE**2)
# swiss roll: t ~ U[1.5π, 4.5π], point t (cos t, sin t): mean (2, 2/(3π)), E[t²] = 9.75 π².
_SWISS_NOISE = 0.4
_SWISS_MEAN = (2.0, 2.0 / (3 * math.pi))
_SWISS_SCALE = math.sqrt((9.75 * math.pi**2 - _SWISS_MEAN[0] ** 2 - _SWISS_MEAN[1] ** 2) / 2 + _SWISS_NOISE**2)
# spirals: t = 3π √u (u ~ U[0,1]), arm t (−cos t, sin t) or its mirror: mean 0, E[t²] = 4.5 π².
_SPIRALS_NOISE = 0.4
_SPIRALS_SCALE = math.sqrt(4.5 * math.pi**2 / 2 + _SPIRALS_NOISE**2)
# circles: radii 1 and ½, half the points each: per-axis variance (1 + ¼)/4.
_CIRCLES_NOISE = 0.05
_CIRCLES_INNER = 0.5
_CIRCLES_SCALE = math.sqrt((1 + _CIRCLES_INNER**2) / 4 + _CIRCLES_NOISE**2)
# checkerboard on [−2, 2]²: each coordinate is uniform on [−2, 2], variance 16/12.
_CHECKER_SCALE = math.sqrt(4 / 3)

# 8-gaussians: radius 2 keeps it inside [−3, 3]²; std 0.1 keeps the modes clearly apart.
_EIGHT_RADIUS = 2.0
_EIGHT_STD = 0.1


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def _check_n(n: int, what: str = "number of points") -> int:
    if isinstance(n, bool) or not hasattr(n, "__index__"):  # ints and numpy ints, not floats
        raise InputError(f"{what} must be a whole number, got {n!r}")
    n = operator.index(n)
    if n < 1:
        raise InputError(f"{what} must be at least 1, got {n}")
    if n > MAX_POINTS:
        raise InputError(f"{what} must be at most {MAX_POINTS:,}, got {n:,}")
    return n


def _unknown_name_error(name: str | None) -> InputError:
    if not name:
        return InputError(f"no dataset name given; choose one of: {', '.join(DATASET_NAMES)}")
    msg = f"unknown dataset {name!r}; choose one of: {', '.join(DATASET_NAMES)}"
    close = difflib.get_close_matches(str(name), DATASET_NAMES, n=1)
    if close:
        msg += f" (did you mean {close[0]!r}?)"
    return InputError(msg)


def dataset_mixture(name: str) -> GaussianMixture | None:
    """The exact Gaussian mixture behind `8-gaussians` and `ncsn-mixture`; None for other shapes."""
    if name == "8-gaussians":
        angles = [2 * math.pi * k / 8 for k in range(8)]
        means = tuple((_EIGHT_RADIUS * math.cos(a), _EIGHT_RADIUS * math.sin(a)) for a in angles)
        return GaussianMixture(weights=(1 / 8,) * 8, means=means, stds=(_EIGHT_STD,) * 8)
    if name == "ncsn-mixture":
        return GaussianMixture(weights=(0.2, 0.8), means=((-5.0, -5.0), (5.0, 5.0)), stds=(1.0, 1.0))
    if name in DATASET_NAMES:
        return None
    raise _unknown_name_error(name)


def _moons(n: int, g: torch.Generator) -> torch.Tensor:
    t = math.pi * torch.rand(n, generator=g)
    second = torch.rand(n, generator=g) < 0.5
    x = torch.where(second, 1 - torch.cos(t), torch.cos(t))
    y = torch.where(second, 0.5 - torch.sin(t), torch.sin(t))
    pts = torch.stack([x, y], 1) + _MOONS_NOISE * torch.randn(n, 2, generator=g)
    return (pts - torch.tensor(_MOONS_MEAN)) / _MOONS_SCALE


def _swiss_roll(n: int, g: torch.Generator) -> torch.Tensor:
    t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=g))
    pts = torch.stack([t * torch.cos(t), t * torch.sin(t)], 1)
    pts = pts + _SWISS_NOISE * torch.randn(n, 2, generator=g)
    return (pts - torch.tensor(_SWISS_MEAN)) / _SWISS_SCALE


def _checkerboard(n: int, g: torch.Generator) -> torch.Tensor:
    # Column x in [−2, 2]; within it pick one of the two dark unit squares.
    x = 4 * torch.rand(n, generator=g) - 2
    y = torch.rand(n, generator=g) - 2 * torch.randint(0, 2, (n,), generator=g)
    y = y + torch.floor(x) % 2
    return torch.stack([x, y], 1) / _CHECKER_SCALE


def _spirals(n: int, g: torch.Generator) -> torch.Tensor:
    t = 3 * math.pi * torch.sqrt(torch.rand(n, generator=g))  # √ so points spread along the arm
    arm = torch.stack([-t * torch.cos(t), t * torch.sin(t)], 1)
    sign = torch.where(torch.rand(n, generator=g) < 0.5, 1.0, -1.0)[:, None]
    pts = sign * arm + _SPIRALS_NOISE * torch.randn(n, 2, generator=g)
    return pts / _SPIRALS_SCALE


def _circles(n: int, g: torch.Generator) -> torch.Tensor:
    t = 2 * math.pi * torch.rand(n, generator=g)
    r = torch.where(torch.rand(n, generator=g) < 0.5, _CIRCLES_INNER, 1.0)
    pts = r[:, None] * torch.stack([torch.cos(t), torch.sin(t)], 1)
    pts = pts + _CIRCLES_NOISE * torch.randn(n, 2, generator=g)
    return pts / _CIRCLES_SCALE


_SHAPES = {
    "moons": _moons,
    "swiss-roll": _swiss_roll,
    "checkerboard": _checkerboard,
    "spirals": _spirals,
    "circles": _circles,
}


def sample_dataset(name: str, n: int, seed: int = 0) -> torch.Tensor:
    """n points (float32, shape (n, 2), CPU) from a built-in dataset; the same seed gives the same points."""
    n = _check_n(n)
    g = _generator(seed)
    mixture = dataset_mixture(name)  # raises InputError for unknown names
    if mixture is not None:
        pts = mixture.sample(n, generator=g)
    else:
        pts = _SHAPES[name](n, g)
    return pts.to(torch.float32).contiguous()


# ----------------------------------------------------------------------------- text as points

_FONT_SIZE = 64  # pixels; large enough that letters are smooth after sub-pixel jitter


@lru_cache(maxsize=1)
def _font():
    from PIL import ImageFont

    return ImageFont.load_default(size=_FONT_SIZE)


@lru_cache(maxsize=1)
def _missing_glyph_mask() -> bytes:
    # A code point no font has: its mask is the font's "missing glyph" box.
    return bytes(_font().getmask("\U0010fffd"))


def _check_text(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InputError("text is empty: type a short word to draw as points")
    text = text.strip()
    if "\n" in text or "\r" in text or "\t" in text:
        raise InputError("text must be a single line")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"text is {len(text)} characters long; at most {MAX_TEXT_CHARS} are allowed")
    missing = sorted({ch for ch in text if not ch.isspace() and bytes(_font().getmask(ch)) == _missing_glyph_mask()})
    if missing:
        shown = " ".join(repr(ch) for ch in missing)
        raise InputError(f"the built-in font cannot draw {shown}; use plain letters, digits and punctuation")
    return text


@lru_cache(maxsize=16)
def _text_ink(text: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """Ink weights and pixel coordinates of `text`, plus the centre and scale that standardize it."""
    import numpy as np
    from PIL import Image, ImageDraw

    font = _font()
    left, top, right, bottom = font.getbbox(text)
    pad = 4
    img = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(img).text((pad - left, pad - top), text, font=font, fill=255)
    ink = torch.from_numpy(np.asarray(img, dtype=np.float64)).flatten()
    if ink.sum() <= 0:
        raise InputError("the text has no visible characters to draw")
    h, w = img.height, img.width
    rows, cols = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    # Pixel centres in a y-up frame (flip rows) so the word reads upright in a plot.
    xy = torch.stack([cols.flatten() + 0.5, (h - rows.flatten()) - 0.5], 1)
    p = ink / ink.sum()
    centre = (p[:, None] * xy).sum(0)
    var = (p[:, None] * (xy - centre) ** 2).sum(0) + 1 / 12  # + the uniform sub-pixel jitter
    scale = math.sqrt(var.mean().item())  # one scalar: keeps the aspect ratio
    return ink, xy, centre, scale


def text_to_points(text: str, n: int, seed: int = 0) -> torch.Tensor:
    """n points (float32, (n, 2)) spread over the ink of `text` drawn in Pillow's built-in font.

    Pixels are drawn with replacement in proportion to their ink, then jittered uniformly
    inside the pixel; the result is centred and scaled by one number so the overall spread
    is about 1 and the letters keep their shape.
    """
    text = _check_text(text)
    n = _check_n(n)
    ink, xy, centre, scale = _text_ink(text)
    g = _generator(seed)
    idx = torch.multinomial(ink, n, replacement=True, generator=g)
    jitter = torch.rand(n, 2, generator=g, dtype=torch.float64) - 0.5
    pts = (xy[idx] + jitter - centre) / scale
    return pts.to(torch.float32)


# ----------------------------------------------------------------------------- dataset specs

_KINDS = ("builtin", "csv", "text")


@dataclass(frozen=True)
class DatasetSpec:
    """Which data a model is trained on: a built-in shape, a CSV file, or a word.

    Stored in checkpoint configs through `to_dict` / `from_dict`.
    """

    kind: str = "builtin"
    name: str | None = None  # builtin
    path: str | None = None  # csv
    text: str | None = None  # text

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise InputError(f"unknown dataset kind {self.kind!r}; use one of: {', '.join(_KINDS)}")
        if self.kind == "builtin":
            if self.name not in DATASET_NAMES:
                raise _unknown_name_error(self.name)
        elif self.kind == "csv":
            if not self.path:
                raise InputError("a CSV dataset needs a file path")
        elif not isinstance(self.text, str) or not self.text.strip():
            raise InputError("text is empty: type a short word to draw as points")

    @classmethod
    def builtin(cls, name: str) -> "DatasetSpec":
        return cls(kind="builtin", name=name)

    @classmethod
    def csv(cls, path: str | os.PathLike) -> "DatasetSpec":
        return cls(kind="csv", path=str(path))

    @classmethod
    def from_text(cls, text: str) -> "DatasetSpec":
        return cls(kind="text", text=text)

    def to_dict(self) -> dict[str, str]:
        field = {"builtin": "name", "csv": "path", "text": "text"}[self.kind]
        return {"kind": self.kind, field: getattr(self, field)}

    @classmethod
    def from_dict(cls, d: dict) -> "DatasetSpec":
        if not isinstance(d, dict):
            raise InputError(f"dataset config must be a table/dict, got {type(d).__name__}")
        unknown = set(d) - {"kind", "name", "path", "text"}
        if unknown:
            raise InputError(f"unknown dataset config keys: {', '.join(sorted(unknown))}")
        return cls(kind=d.get("kind", "builtin"), name=d.get("name"), path=d.get("path"), text=d.get("text"))

    def describe(self) -> str:
        """A short label for plots and tables."""
        if self.kind == "builtin":
            return str(self.name)
        if self.kind == "csv":
            return f"CSV: {Path(self.path).name}"
        return f"text: {self.text.strip()!r}"


def load_dataset(spec: DatasetSpec, n: int, seed: int = 0) -> torch.Tensor:
    """The points for a spec: builtin → n samples; csv → the file's points (n ignored); text → n points."""
    if spec.kind == "builtin":
        return sample_dataset(spec.name, n, seed)
    if spec.kind == "csv":
        return read_points_csv(spec.path)
    return text_to_points(spec.text, n, seed)


# ----------------------------------------------------------------------------- training data

@dataclass
class TrainingData:
    """The points a model trains on, with their centre and spread.

    The network always sees `normalized` = (points − center) / spread, so one set of
    defaults (widths, learning rate) suits any data; `ScoreModel` maps its score back
    to the data's own coordinates. `center`/`spread` are also where a single-σ model's
    Langevin chains start.
    """

    points: torch.Tensor       # (N, 2) in the data's own coordinates
    normalized: torch.Tensor   # (points − center) / spread: what the network sees
    center: torch.Tensor       # (2,) the mean point
    spread: float              # mean per-axis standard deviation
    spec: DatasetSpec


def training_data(spec: DatasetSpec, n: int = 10_000, seed: int = 0) -> TrainingData:
    """Load the points of `spec` and standardize them."""
    points = load_dataset(spec, n, seed).float()
    center = points.mean(0)
    spread = float(points.std(0).mean())
    if not (math.isfinite(spread) and spread > 0):
        raise InputError("all points are identical (or not finite): nothing to learn")
    return TrainingData(points, (points - center) / spread, center, spread, spec)
