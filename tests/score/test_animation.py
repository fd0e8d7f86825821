"""Scatter frames and GIFs drawn with Pillow."""

import io
import os

import numpy as np
import pytest
import torch
from PIL import Image

from models.lab.datasets import sample_dataset
from models.score import animation
from models.score.animation import (
    DATA_COLOR,
    DEFAULT_COLOR,
    gif_bytes,
    make_gif,
    render_scatter_frame,
    subsample_frame_indices,
    view_limits,
)


def _moving_frames(n_frames, n_points=500, seed=0):
    """Noise flowing into moons: every frame differs."""
    g = torch.Generator().manual_seed(seed)
    start = 3 * torch.randn(n_points, 2, generator=g)
    end = sample_dataset("moons", n_points, seed=seed)
    return [(1 - t) * start + t * end for t in np.linspace(0, 1, n_frames)]


def _pixels(img, rgb):
    return int((np.asarray(img.convert("RGB")) == np.array(rgb, dtype=np.uint8)).all(-1).sum())


def _gif_frames(blob):
    im = Image.open(io.BytesIO(blob))
    durations = []
    for i in range(im.n_frames):
        im.seek(i)
        durations.append(im.info.get("duration"))
    return im.n_frames, im.size, durations


# ----------------------------------------------------------------------------- one frame


def test_frame_basics():
    data = sample_dataset("moons", 800, seed=0)
    img = render_scatter_frame(data[:300] + 0.1, data=data, size=200, title="σ = 0.52 · level 3/10")
    assert img.size == (200, 200) and img.mode == "RGB"
    assert _pixels(img, DEFAULT_COLOR) > 300  # the points
    assert _pixels(img, DATA_COLOR) > 100  # the data behind
    assert _pixels(img, (255, 255, 255)) > 200 * 200 * 0.5  # white background


def test_points_land_where_expected():
    # A single point at the centre of a symmetric view is drawn at the centre of the plot box.
    img = render_scatter_frame([[0.0, 0.0]], lim=(-1, 1, -1, 1), size=101)
    ys, xs = np.nonzero((np.asarray(img) == np.array(DEFAULT_COLOR, dtype=np.uint8)).all(-1))
    (left, top, side), _ = animation._layout(101, "")
    assert abs(xs.mean() - (left + (side - 1) / 2)) <= 0.5
    assert abs(ys.mean() - (top + (side - 1) / 2)) <= 0.5
    # y is up: a point at y = +0.9 is near the top of the picture
    img = render_scatter_frame([[0.0, 0.9]], lim=(-1, 1, -1, 1), size=101)
    ys, _ = np.nonzero((np.asarray(img) == np.array(DEFAULT_COLOR, dtype=np.uint8)).all(-1))
    assert ys.mean() < top + 0.1 * side


def test_outside_and_nan_points_are_skipped():
    pts = np.array([[0.0, 0.0], [np.nan, 0.0], [0.0, np.inf], [50.0, 50.0], [-1e9, 3.0]])
    img = render_scatter_frame(pts, lim=(-1, 1, -1, 1), size=120)
    single = render_scatter_frame(pts[:1], lim=(-1, 1, -1, 1), size=120)
    assert np.array_equal(np.asarray(img), np.asarray(single))
    # all-NaN and empty frames draw an empty plot instead of failing
    assert _pixels(render_scatter_frame(np.full((10, 2), np.nan), size=120), DEFAULT_COLOR) == 0
    assert _pixels(render_scatter_frame(np.zeros((0, 2)), size=120), DEFAULT_COLOR) == 0


def test_title_and_colours():
    plain = render_scatter_frame([[0.0, 0.0]], lim=(-1, 1, -1, 1), size=160)
    titled = render_scatter_frame([[0.0, 0.0]], lim=(-1, 1, -1, 1), size=160, title="σ = 0.5")
    dark = (np.asarray(titled)[:20] < 100).all(-1).sum()
    assert dark > 10 and (np.asarray(plain)[:5] < 100).all(-1).sum() == 0
    red = render_scatter_frame([[0.0, 0.0]], lim=(-1, 1, -1, 1), size=160, color="#ff0000")
    assert _pixels(red, (255, 0, 0)) > 0 and _pixels(red, DEFAULT_COLOR) == 0


def test_ascii_fallback_for_fonts_without_greek():
    from PIL import ImageFont

    basic = ImageFont.load_default(size=14)  # Pillow's built-in font has no σ
    assert animation._drawable("σ ≈ 0.5, ε → 0", basic) == "sigma ~ 0.5, eps -> 0"
    assert animation._drawable("中", basic) == "?"
    assert animation._drawable("plain text", basic) == "plain text"


def test_frame_argument_errors():
    with pytest.raises(ValueError, match="shape"):
        render_scatter_frame(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="limits"):
        render_scatter_frame(np.zeros((4, 2)), lim=(1, 0, 0, 1))


def test_view_limits_square_and_robust():
    pts = np.random.default_rng(0).normal(size=(2000, 2)) * [3.0, 1.0] + [10.0, -5.0]
    outliers = np.vstack([pts, [[1e6, 1e6], [np.nan, 0.0]]])
    xmin, xmax, ymin, ymax = view_limits(outliers)
    assert xmax - xmin == pytest.approx(ymax - ymin)  # square: shapes keep their aspect
    assert xmin < pts[:, 0].min() + 1 and xmax < 100  # a runaway point does not blow up the view
    assert (xmin + xmax) / 2 == pytest.approx(10, abs=1)
    assert view_limits(np.full((3, 2), np.nan)) == (-3.0, 3.0, -3.0, 3.0)


# ----------------------------------------------------------------------------- GIFs


@pytest.mark.parametrize(
    "n, m, expected",
    [(5, 60, [0, 1, 2, 3, 4]), (1, 60, [0]), (10, 4, [0, 3, 6, 9]), (101, 3, [0, 50, 100])],
)
def test_subsample_frame_indices(n, m, expected):
    assert subsample_frame_indices(n, m) == expected


def test_subsample_many():
    idx = subsample_frame_indices(1000, 60)
    assert len(idx) == 60 and idx[0] == 0 and idx[-1] == 999 and idx == sorted(set(idx))
    gaps = np.diff(idx)
    assert gaps.max() - gaps.min() <= 1  # evenly spread


def test_gif_decodes_with_frames_size_and_hold():
    frames = _moving_frames(25)
    blob = gif_bytes(frames, data=frames[-1], titles=[f"step {i}" for i in range(25)], size=160, fps=10, max_frames=10)
    n, size, durations = _gif_frames(blob)
    assert n == 10 and size == (160, 160)
    assert durations[0] == 100 and durations[-1] == 1500  # the last frame is held


def test_gif_shared_view_does_not_jump():
    # The final frame in the GIF equals a frame rendered with the data/final-frame view.
    frames = _moving_frames(6, seed=1)
    data = sample_dataset("moons", 400, seed=2)
    blob = gif_bytes(frames, data=data, size=128)
    im = Image.open(io.BytesIO(blob))
    im.seek(im.n_frames - 1)
    last = np.asarray(im.convert("RGB"))
    expected = render_scatter_frame(frames[-1], data, view_limits(data, frames[-1]), 128)
    assert (last == np.asarray(expected)).all(-1).mean() > 0.99  # same picture up to palette rounding


def test_make_gif_atomic_and_bounded(tmp_path):
    frames = _moving_frames(50, n_points=2000)
    titles = [f"σ = {1 - i / 49:.2f} · step {i + 1}/50" for i in range(50)]
    path = make_gif(frames, tmp_path / "out" / "langevin.gif", data=frames[-1], titles=titles)
    assert path == tmp_path / "out" / "langevin.gif"
    assert os.listdir(path.parent) == ["langevin.gif"]  # no stray temp files
    n, size, _ = _gif_frames(path.read_bytes())
    assert n == 50 and size == (320, 320)
    assert path.stat().st_size < 800_000  # 50 frames of 2000 moving points: about 0.3 MB


def test_max_bytes_shrinks_the_picture(tmp_path):
    frames = _moving_frames(20, n_points=1000)
    full = gif_bytes(frames, size=256)
    small = gif_bytes(frames, size=256, max_bytes=len(full) // 3)
    assert len(small) <= len(full) // 3
    n, size, _ = _gif_frames(small)
    assert size[0] < 256
    with pytest.raises(ValueError, match="cannot fit"):
        gif_bytes(frames, size=256, max_bytes=100)
    # a failed write leaves nothing behind
    target = tmp_path / "x.gif"
    with pytest.raises(ValueError):
        make_gif(frames, target, max_bytes=100)
    assert os.listdir(tmp_path) == []


def test_gif_nan_safe_and_tensor_input():
    frames = torch.stack(_moving_frames(8))  # (T, N, 2) tensor
    frames[3, :50] = float("nan")
    frames[5] = float("nan")
    n, _, _ = _gif_frames(gif_bytes(frames, size=96))
    assert n == 8


def test_gif_argument_errors():
    frames = _moving_frames(3)
    with pytest.raises(ValueError, match="at least one frame"):
        gif_bytes([])
    with pytest.raises(ValueError, match="2 titles for 3 frames"):
        gif_bytes(frames, titles=["a", "b"])
    with pytest.raises(ValueError, match="fps"):
        gif_bytes(frames, fps=0)
