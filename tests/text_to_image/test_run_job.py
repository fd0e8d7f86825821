"""The page's run and its worker in the real job pool: live records, a grid per 100 steps, stop keeps the model."""

from __future__ import annotations

import time

import pytest

from models.core.jobs import JobPool
from models.text_to_image import lesson
from models.text_to_image.run import Live, TextToImageRun, loaded_run, training_job
from models.text_to_image.train import TrainConfig


@pytest.mark.slow
def test_the_worker_reports_live_records_and_leaves_the_model_on_the_run():
    pool = JobPool(1)
    run = TextToImageRun(TrainConfig(steps=200, seed=3))
    run.job = pool.submit(lambda job: training_job(job, run), name="t2i")
    assert run.job.wait(120) and run.job.state == "done", run.job.error
    live = run.live()
    assert isinstance(live, Live) and live.step == 200 and live.grid.shape == (10, 8, 8) and live.grid_step == 200
    assert live.history[-1]["step"] == 200 and run.steps_done == 200 and not run.running
    back = loaded_run(run.zip_bytes(), "saved.zip")
    assert back.loaded and back.seen_ids == run.seen_ids and back.steps_done == 200


def test_stopping_keeps_what_was_learned():
    pool = JobPool(1)
    run = TextToImageRun(TrainConfig(steps=50_000, seed=3))
    run.job = pool.submit(lambda job: training_job(job, run), name="t2i")
    deadline = time.monotonic() + 60
    while run.live().step < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    run.job.cancel()
    assert run.job.wait(60) and run.job.state == "cancelled"
    assert 20 <= run.steps_done < 50_000 and run.trained.stopped


def test_drawings_carry_the_judges_reading(trained):
    d = lesson.draw(trained.model, "a slanted six", n=6, steps=3, seed=1)
    assert d.images.shape == (6, 8, 8) and len(d.previews) == 3 and len(d.judged) == 6
    assert d.digit == 6 and d.attributes == ("slanted",) and d.accuracy >= 0.5 and d.hit_rate is not None
    assert lesson.timeline_rows(d, 4).shape == (12, 8, 8)
    assert lesson.draw(trained.model, "семь", n=2).accuracy is None  # no English digit named: no accuracy
    pieces = lesson.pieces("a cat", frozenset(trained.seen_ids))
    assert [p.seen for p in pieces] == [True, True, False, True]
