"""The trajectory player's tails (models/score/animation.py trail_segments), checked on paths known exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.score.animation import TRAIL_FRAMES, trail_particles, trail_segments


def _frames(n_frames=20, n_points=50):
    # particle p at frame j sits at (j, p): every step moves each particle by +1 in x
    return [torch.tensor([[float(j), float(p)] for p in range(n_points)]) for j in range(n_frames)]


def test_each_tail_is_the_particles_last_steps_newest_first_in_age():
    frames = _frames()
    chosen = np.array([3, 7])
    rows = trail_segments(frames, 10, chosen, tail=4)
    assert len(rows) == 2 * 4
    for r in rows:
        j = 10 - r["age"]  # the segment that ends at frame j
        assert (r["x"], r["x2"]) == (j - 1, j) and r["y"] == r["y2"] and r["y"] in (3.0, 7.0)
    assert sorted({r["age"] for r in rows}) == [0, 1, 2, 3]


def test_tails_are_shorter_at_the_start_and_skip_run_off_particles():
    frames = _frames()
    assert trail_segments(frames, 0, np.array([0, 1])) == []  # nothing behind the first frame
    assert len(trail_segments(frames, 2, np.array([0]))) == 2
    frames[5][1] = torch.tensor([float("nan"), 0.0])
    rows = trail_segments(frames, 6, np.array([0, 1]), tail=TRAIL_FRAMES)
    assert all(np.isfinite([r["x"], r["y"], r["x2"], r["y2"]]).all() for r in rows)
    assert len([r for r in rows if r["y"] == 1.0]) == 6 - 2  # both segments touching frame 5 dropped
    with pytest.raises(IndexError):
        trail_segments(frames, 20, np.array([0]))


def test_the_same_particles_trail_in_every_frame():
    a, b = trail_particles(2000), trail_particles(2000)
    assert len(a) == 150 and (a == b).all() and len(set(a.tolist())) == 150
    assert len(trail_particles(40)) == 40


def test_segments_with_an_end_outside_the_window_are_left_out():
    # at a large σ particles sit far outside the plot: their jumps across it must not be drawn (a web)
    frames = [torch.tensor([[-50.0, 40.0], [0.0, 0.0], [1.0, 1.0]]),
              torch.tensor([[60.0, -30.0], [0.5, 0.5], [9.0, 1.0]]),
              torch.tensor([[0.2, 0.1], [1.0, 1.0], [1.5, 1.5]])]
    everything = trail_segments(frames, 2, np.array([0, 1, 2]))
    assert len(everything) == 6
    inside = trail_segments(frames, 2, np.array([0, 1, 2]), window=(-3.0, 3.0))
    assert [(r["x"], r["y"], r["x2"], r["y2"]) for r in inside] == [(0.0, 0.0, 0.5, 0.5), (0.5, 0.5, 1.0, 1.0)]
    # a jump longer than max_jump is noise at a large σ, not a path: left out too
    short = trail_segments(frames, 2, np.array([0, 1, 2]), max_jump=1.0)
    assert [(r["x"], r["y"], r["x2"], r["y2"]) for r in short] == [(0.0, 0.0, 0.5, 0.5), (0.5, 0.5, 1.0, 1.0)]
