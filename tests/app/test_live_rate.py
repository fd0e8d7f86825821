"""The Score lab's live "steps / s": steps over the time they took, across the latest log windows, measured
the way the run's final average is (not the last window alone, which jumps with every pause)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from app.ui.training_charts import RATE_WINDOW_S, recent_rate
from models.lab.datasets import DatasetSpec, training_data
from models.score.defaults import default_config
from models.score.run import train


def _rows(windows):
    """History rows for (steps, seconds) windows, as the trainer logs them."""
    rows, step = [], 0
    for steps, seconds in windows:
        step += steps
        rows.append({"step": step, "loss": 1.0, "steps_per_second": steps / seconds})
    return rows


def test_the_live_rate_is_steps_over_seconds_of_the_latest_windows_not_the_last_one():
    # 20 slow windows (50 steps in 0.625 s: 80 / s), then one quick window (50 steps in 0.17 s: 293 / s)
    history = _rows([(50, 0.625)] * 20 + [(50, 50 / 293)])
    assert history[-1]["steps_per_second"] == pytest.approx(293)
    # the latest ≥ 5 s of training: the quick window and the 8 slow ones before it
    expected = (50 + 8 * 50) / (50 / 293 + 8 * 0.625)
    assert recent_rate(history) == pytest.approx(expected)
    assert 80 < recent_rate(history) < 90
    # over the whole run: every step over every window's time, the final average's definition
    assert recent_rate(history, math.inf) == pytest.approx(21 * 50 / (20 * 0.625 + 50 / 293))
    assert recent_rate([]) is None
    assert RATE_WINDOW_S >= 3  # seconds, not one window of a few hundred milliseconds


def test_over_a_whole_run_it_is_the_runs_own_average():
    spec = DatasetSpec.builtin("moons")
    config = replace(default_config(spec), steps=200)
    config.log_every = 20
    _, trainer = train(training_data(spec, 1000, 0), config)
    history, state = trainer.state.history, trainer.state
    assert history[-1]["step"] == 200
    assert recent_rate(history, math.inf) == pytest.approx(state.step / state.seconds, rel=1e-6)
