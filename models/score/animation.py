"""Scatter-plot frames and GIFs of particles moving (e.g. annealed Langevin), drawn with Pillow.

No matplotlib: points are stamped into a numpy canvas (fast for thousands of points),
then Pillow adds the frame and the title. All frames of a GIF share one view, so the
picture does not jump, and one small fixed palette keeps the file small: a 50-frame
320×320 GIF of 2000 moving particles is 0.3–0.35 MB and takes about 0.4 s.
"""

from __future__ import annotations

import io
import os
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageColor, ImageDraw, ImageFont

from models.core.atomic import atomic_write_bytes

Limits = tuple[float, float, float, float]  # (xmin, xmax, ymin, ymax)

DEFAULT_COLOR = (31, 119, 180)  # the blue people know from plots
DATA_COLOR = (205, 205, 205)  # data drawn faintly behind the particles
FRAME_COLOR = (140, 140, 140)
BACKGROUND = (255, 255, 255)
TEXT_COLOR = (20, 20, 20)

MIN_GIF_SIZE = 64
HOLD_LAST_S = 1.5  # the final picture stays up long enough to look at


# ----------------------------------------------------------------------------- points and views


def _np_points(points) -> np.ndarray:
    if isinstance(points, torch.Tensor):
        arr = points.detach().to("cpu", torch.float64).numpy()
    else:
        arr = np.asarray(points, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 2))
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {arr.shape}")
    return arr


def view_limits(*point_sets, pad: float = 0.1, quantile: float = 0.001) -> Limits:
    """A square view (xmin, xmax, ymin, ymax) around the finite points of all sets.

    The extreme `quantile` on each side is ignored so a few runaway particles do not
    shrink the picture; `pad` adds that fraction of the span on every side.
    """
    finite = [p[np.isfinite(p).all(1)] for p in (_np_points(s) for s in point_sets if s is not None)]
    finite = [p for p in finite if len(p)]
    if not finite:
        return (-3.0, 3.0, -3.0, 3.0)
    lo = np.min([np.quantile(p, quantile, axis=0) for p in finite], axis=0)
    hi = np.max([np.quantile(p, 1 - quantile, axis=0) for p in finite], axis=0)
    centre = (lo + hi) / 2
    half = max(float((hi - lo).max()) / 2, 1e-3) * (1 + 2 * pad)  # square: equal spans keep shapes round
    return (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)


# ----------------------------------------------------------------------------- fonts


@lru_cache(maxsize=8)
def _title_font(px: int):
    # DejaVu has σ, ε, · and friends; Pillow's built-in font does not, so fall back to it last.
    for name in ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "Arial.ttf"):
        try:
            return ImageFont.truetype(name, px)
        except OSError:
            continue
    return ImageFont.load_default(size=px)


_ASCII_FALLBACK = {"σ": "sigma", "α": "alpha", "ε": "eps", "·": "|", "−": "-", "→": "->", "≈": "~", "²": "^2", "×": "x"}


def _drawable(text: str, font) -> str:
    """Replace characters the font would draw as a 'missing glyph' box."""
    missing = bytes(font.getmask("\U0010fffd"))
    out = []
    for ch in text:
        if ch.isspace() or ch.isascii() or bytes(font.getmask(ch)) != missing:
            out.append(ch)
        else:
            out.append(_ASCII_FALLBACK.get(ch, "?"))
    return "".join(out)


# ----------------------------------------------------------------------------- one frame


def _stamp(radius: int) -> np.ndarray:
    """Pixel offsets of a small round dot."""
    r = np.arange(-radius, radius + 1)
    dx, dy = np.meshgrid(r, r)
    keep = dx**2 + dy**2 <= radius**2 + radius  # radius 1: a 3×3 square (LZW likes runs)
    return np.stack([dx[keep], dy[keep]], 1)


def _draw_points(canvas: np.ndarray, pts: np.ndarray, lim: Limits, box: tuple[int, int, int], rgb, stamp: np.ndarray):
    left, top, side = box
    xmin, xmax, ymin, ymax = lim
    pts = pts[np.isfinite(pts).all(1)]  # NaN / inf particles are skipped, not drawn at the edge
    if not len(pts):
        return
    px = left + (pts[:, 0] - xmin) / (xmax - xmin) * (side - 1)
    py = top + (ymax - pts[:, 1]) / (ymax - ymin) * (side - 1)  # y up
    inside = (px > left - 2) & (px < left + side + 1) & (py > top - 2) & (py < top + side + 1)
    px, py = np.rint(px[inside]).astype(np.int64), np.rint(py[inside]).astype(np.int64)
    xs = (px[:, None] + stamp[None, :, 0]).ravel()
    ys = (py[:, None] + stamp[None, :, 1]).ravel()
    ok = (xs >= left) & (xs < left + side) & (ys >= top) & (ys < top + side)  # clip to the plot box
    canvas[ys[ok], xs[ok]] = rgb


def _rgb(color) -> tuple[int, int, int]:
    if isinstance(color, str):
        return ImageColor.getrgb(color)[:3]
    r, g, b = color[:3]
    return int(r), int(g), int(b)


def _layout(size: int, title: str) -> tuple[tuple[int, int, int], int]:
    font_px = max(9, size // 22)
    band = font_px + 8 if title else 0
    margin = max(3, size // 60)
    side = size - band - 2 * margin
    left = (size - side) // 2
    return (left, band + margin, side), font_px


def render_scatter_frame(
    points,
    data=None,
    lim: Limits | None = None,
    size: int = 320,
    title: str = "",
    color=DEFAULT_COLOR,
) -> Image.Image:
    """One size×size RGB scatter plot: data faint grey behind, points as small coloured dots.

    `lim` = (xmin, xmax, ymin, ymax); None fits a square view to the points and data.
    Points outside the view are clipped; NaN / inf points are skipped.
    """
    if size < MIN_GIF_SIZE:
        raise ValueError(f"size must be at least {MIN_GIF_SIZE} pixels, got {size}")
    pts = _np_points(points)
    data_pts = _np_points(data) if data is not None else None
    if lim is None:
        lim = view_limits(data_pts, pts)
    xmin, xmax, ymin, ymax = (float(v) for v in lim)
    if not (xmax > xmin and ymax > ymin):
        raise ValueError(f"limits must satisfy xmin < xmax and ymin < ymax, got {lim}")
    box, font_px = _layout(size, title)
    canvas = np.full((size, size, 3), BACKGROUND, dtype=np.uint8)
    radius = max(1, round(size / 300))
    if data_pts is not None:
        data_stamp = _stamp(radius - 1) if radius > 1 else np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
        _draw_points(canvas, data_pts, (xmin, xmax, ymin, ymax), box, DATA_COLOR, data_stamp)
    _draw_points(canvas, pts, (xmin, xmax, ymin, ymax), box, _rgb(color), _stamp(radius))
    img = Image.fromarray(canvas, "RGB")
    draw = ImageDraw.Draw(img)
    left, top, side = box
    draw.rectangle([left - 1, top - 1, left + side, top + side], outline=FRAME_COLOR)
    if title:
        font = _title_font(font_px)
        text = _drawable(title, font)
        width = draw.textlength(text, font=font)
        draw.text((max(2, (size - width) / 2), 4), text, font=font, fill=TEXT_COLOR)
    return img


# ----------------------------------------------------------------------------- GIFs


def subsample_frame_indices(n_frames: int, max_frames: int) -> list[int]:
    """At most max_frames indices spread evenly over range(n_frames), always keeping first and last."""
    if n_frames < 1:
        raise ValueError("need at least one frame")
    if max_frames < 2:
        raise ValueError("max_frames must be at least 2")
    if n_frames <= max_frames:
        return list(range(n_frames))
    return sorted({int(round(i)) for i in np.linspace(0, n_frames - 1, max_frames)})


def _palette_image(color) -> Image.Image:
    """A fixed GIF palette: greys (text anti-aliasing, data, frame) plus the point colour."""
    colors = [(v, v, v) for v in range(0, 256, 17)]  # 16 greys incl. black and white
    colors += [DATA_COLOR, FRAME_COLOR, TEXT_COLOR, _rgb(color)]
    c = np.array(_rgb(color), dtype=float)
    colors += [tuple(int(v) for v in c + (255 - c) * t) for t in (0.25, 0.5, 0.75)]  # text/edge blends
    flat = [v for rgb in colors for v in rgb]
    pal = Image.new("P", (1, 1))
    pal.putpalette(flat + flat[:3] * (256 - len(colors)))
    return pal


def _encode(images: list[Image.Image], durations_ms: list[int], palette: Image.Image) -> bytes:
    frames = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    buf = io.BytesIO()
    frames[0].save(
        buf, format="GIF", save_all=True, append_images=frames[1:], duration=durations_ms, loop=0, optimize=False
    )
    return buf.getvalue()


def gif_bytes(
    frames: Sequence,
    data=None,
    titles: Sequence[str] | None = None,
    size: int = 320,
    fps: float = 10,
    max_frames: int = 60,
    max_bytes: int = 2_000_000,
    lim: Limits | None = None,
    color=DEFAULT_COLOR,
) -> bytes:
    """An animated GIF (as bytes) of a list of (N, 2) point sets.

    All frames share one view; more than `max_frames` frames are thinned evenly (first and
    last kept); the last frame is held for 1.5 s; if the GIF would exceed `max_bytes`
    the picture is shrunk (then frames dropped) until it fits. Pillow merges consecutive
    frames that are pixel-identical into one longer frame.
    """
    frames = list(frames)
    if not frames:
        raise ValueError("need at least one frame")
    if titles is not None and len(titles) != len(frames):
        raise ValueError(f"got {len(titles)} titles for {len(frames)} frames")
    if not 0.5 <= fps <= 50:
        raise ValueError(f"fps must be between 0.5 and 50 (GIF delays are in 1/100 s), got {fps}")
    if lim is None:
        # One view for all frames: the data and the final frame (early noisy frames may spill out).
        lim = view_limits(data, frames[-1])
    data_pts = _np_points(data) if data is not None else None
    palette = _palette_image(color)
    size = int(size)
    while True:
        keep = subsample_frame_indices(len(frames), max_frames)
        images = [
            render_scatter_frame(frames[i], data_pts, lim, size, titles[i] if titles else "", color) for i in keep
        ]
        step_ms = int(round(1000 / fps))
        durations = [step_ms] * len(images)
        durations[-1] = max(step_ms, int(HOLD_LAST_S * 1000))
        out = _encode(images, durations, palette)
        if len(out) <= max_bytes:
            return out
        # Too big: shrink the picture first, then drop frames.
        if size > MIN_GIF_SIZE:
            size = max(MIN_GIF_SIZE, int(size * 0.75))
        elif max_frames > 2:
            max_frames = max(2, max_frames // 2)
        else:
            raise ValueError(f"cannot fit the GIF into {max_bytes:,} bytes even at {size}px and 2 frames")


def make_gif(frames: Sequence, path: str | os.PathLike, **options) -> Path:
    """Write `gif_bytes(frames, **options)` to `path` (atomically) and return the path."""
    return atomic_write_bytes(path, gif_bytes(frames, **options))


# ----------------------------------------------------------------------------- the trajectory player

TRAIL_PARTICLES = 150  # particles that leave a trail: more would hide the cloud under lines
TRAIL_FRAMES = 8       # frames a trail reaches back


def trail_particles(n_points: int, count: int = TRAIL_PARTICLES, seed: int = 0) -> np.ndarray:
    """Which particles draw a trail: a fixed random subset, the same in every frame."""
    g = np.random.default_rng(seed)
    return np.sort(g.choice(n_points, size=min(count, n_points), replace=False))


def trail_segments(frames: Sequence, index: int, particles: np.ndarray, tail: int = TRAIL_FRAMES,
                   window: tuple[float, float] | None = None, max_jump: float | None = None) -> list[dict]:
    """The recent path of each chosen particle up to frame `index`, as line segments for a chart.

    One row per particle per step, {x, y, x2, y2, age}: the segment from frame j−1 to frame j,
    age = index − j (0 the newest, tail − 1 the oldest, drawn faintest). Segments with a
    non-finite end are left out (a sampler that ran off), and with `window` = (lo, hi) those with an
    end outside the square [lo, hi]²: at a large σ most particles are far outside the plot, and their
    long jumps across it, clipped at its edge, drew a web over the picture. With `max_jump`, segments
    longer than that are left out too: at a large σ one step's noise crosses the plot, a jump, not a path.
    """
    if not 0 <= index < len(frames):
        raise IndexError(f"frame {index} of {len(frames)}")
    rows = []
    for j in range(max(1, index - tail + 1), index + 1):
        a, b = _np_points(frames[j - 1])[particles], _np_points(frames[j])[particles]
        ok = np.isfinite(a).all(1) & np.isfinite(b).all(1)
        if window is not None:
            lo, hi = window
            ok &= ((a >= lo) & (a <= hi) & (b >= lo) & (b <= hi)).all(1)
        if max_jump is not None:
            with np.errstate(invalid="ignore"):
                ok &= np.linalg.norm(b - a, axis=1) <= max_jump
        age = index - j
        rows += [{"x": float(p[0]), "y": float(p[1]), "x2": float(q[0]), "y2": float(q[1]), "age": age}
                 for p, q in zip(a[ok], b[ok])]
    return rows
