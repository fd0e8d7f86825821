"""Live previews while training (models/lab/run.py PreviewClock): they keep up with the training.

No wall clock: the clock is fed made-up perf_counter times, so every number here is exact.
"""

from __future__ import annotations

import pytest

from models.lab.run import PREVIEW_BUDGET, PREVIEW_MAX_GAP_S, PREVIEW_MIN_GAP_S, PreviewClock
from models.score import run as training_run


def test_the_first_preview_is_due_at_once():
    assert PreviewClock().due(0.0)


def test_a_slow_first_preview_does_not_hold_back_the_next():
    # the bug: a 0.5 s warm-up preview was budgeted at 5 %, so the next came 4 s later (step 13 → 702)
    clock = PreviewClock()
    clock.record(started=10.0, finished=10.5)
    assert clock.next_at == pytest.approx(10.5 + PREVIEW_MIN_GAP_S)
    assert not clock.due(10.5 + PREVIEW_MIN_GAP_S - 0.01) and clock.due(10.5 + PREVIEW_MIN_GAP_S)


@pytest.mark.parametrize("cost, gap", [(0.01, PREVIEW_MIN_GAP_S), (0.075, 0.075 / PREVIEW_BUDGET),
                                       (0.5, PREVIEW_MAX_GAP_S)])
def test_later_previews_are_spaced_by_the_budget_within_the_bounds(cost, gap):
    clock = PreviewClock()
    clock.record(0.0, 1.0)                # warm-up
    clock.record(5.0, 5.0 + cost)
    assert clock.next_at == pytest.approx(5.0 + cost + gap)
    assert PREVIEW_MIN_GAP_S <= gap <= PREVIEW_MAX_GAP_S <= 2.0  # the page redraws charts every 1 s


def test_the_cheapest_preview_sets_the_pace():
    clock = PreviewClock()
    for start, cost in [(0.0, 1.0), (3.0, 0.06), (6.0, 0.3)]:  # a busy moment does not slow the scatter
        clock.record(start, start + cost)
    assert clock.cheapest == pytest.approx(0.06)
    assert clock.next_at == pytest.approx(6.3 + 0.06 / PREVIEW_BUDGET)


def test_training_job_reports_previews_and_their_step():
    from models.core.jobs import JobPool
    from tests.helpers import quick_score_run

    run = quick_score_run(steps=60)
    job = JobPool(1).submit(lambda j: training_run.training_job(j, run, loss_floors=False))
    assert job.wait(120) and job.state == "done", job.error
    snap = job.snapshot()
    assert snap.preview_step == 60 and snap.step == 60  # the last preview is of the final network


# ----------------------------------------------------------------------------- one-click defaults

def test_every_source_has_defaults_in_one_table_and_they_build_a_valid_config():
    from models.lab.datasets import DATASET_NAMES, DatasetSpec
    from models.score.defaults import BUILTIN_DEFAULTS, DEFAULTS, default_config, default_settings

    specs = [DatasetSpec.builtin(n) for n in DATASET_NAMES] + [DatasetSpec.from_text("HELLO"),
                                                                 DatasetSpec.csv("drawing.csv"), None]
    for spec in specs:
        d = default_settings(spec)
        config = default_config(spec, seed=3)
        assert (config.steps, config.batch_size, config.lr, config.hidden, config.seed) == (
            d.steps, d.batch_size, d.lr, d.hidden, 3)
        assert d.steps <= training_run.MAX_STEPS_PER_JOB  # one press of Train
        assert d.sampler in training_run.SAMPLERS
    assert default_settings(DatasetSpec.builtin("checkerboard")) is BUILTIN_DEFAULTS["checkerboard"]
    assert default_settings(DatasetSpec.from_text("HELLO")) is DEFAULTS["text"]
    assert default_settings(None) is DEFAULTS["builtin"]
