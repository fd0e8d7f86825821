"""Score lab page: chart rows headless, then the page itself through Streamlit's AppTest.

The AppTest tests press the real widgets: a short training run through the shared job
pool, a click during training, Stop / Resume, a run that blows up, CSV and zip uploads.
"""

from __future__ import annotations

import json
import math
import re

import pytest
import torch

from app.ui import charts, trajectory_player, training_charts
from models.core.jobs import JobPool
from models.lab.datasets import DatasetSpec
from models.lab.run import progress_of
from models.lab.training import EXPLODED_LOSS
from models.score import run as training_run
from tests.helpers import (ROOT, canvas_dot, canvas_stroke, chart, chart_rows, new_session, open_page, quick_score_run,
                           run_python, wait_for)

PAGE = "views/score_lab.py"


# ----------------------------------------------------------------------------- charts

def test_charts_thin_long_runs_and_drop_non_finite_values():
    rows = [{"step": i, "loss": 1.0 / i, "steps_per_second": 500.0, "per_sigma": [0.1, 1.0 / i]}
            for i in range(1, 2001)]
    rows[5]["loss"] = float("nan")
    rows[7]["per_sigma"] = [float("inf"), 0.5]
    thinned = training_charts.thin(rows)
    assert len(thinned) <= training_charts.MAX_ROWS
    assert thinned[0] is rows[0] and thinned[-1] is rows[-1]
    loss = training_charts.loss_rows(rows[:10], floor=0.25)
    assert all(math.isfinite(r["loss"]) for r in loss)
    assert len([r for r in loss if r["series"] == training_charts.LOSS_LABEL]) == 9  # the NaN row is gone
    assert [r["loss"] for r in loss if r["series"] == training_charts.FLOOR_LABEL] == [0.25, 0.25]
    per = training_charts.per_sigma_rows(rows[:10], [2.0, 0.1], floors=[0.05, None])
    assert all(math.isfinite(r["loss"]) for r in per)
    assert len([r for r in per if r["kind"] == "loss"]) == 19 and len([r for r in per if r["kind"] == "floor"]) == 2
    assert training_charts.loss_rows([], floor=0.3) == []  # no floor line without a loss line


# ----------------------------------------------------------------------------- the page (AppTest)

def _open_page(**settings):
    """The Score lab, its number inputs set to `settings`."""
    at = open_page(PAGE)
    for key, value in settings.items():
        at.number_input(key=key).set_value(value)
    return at


def test_page_renders_with_explanations_and_controls():
    at = _open_page()
    assert at.title[0].value == "Score lab"
    assert len(at.latex) >= 3
    assert at.button(key="sl_train").disabled is False
    assert at.button(key="sl_stop").disabled is True
    assert "moons" in at.selectbox(key="sl_dataset").options
    assert "σ_max" in " ".join(c.value for c in at.sidebar.caption)


def test_short_training_run_finishes_and_charts_have_the_rows():
    at = _open_page(sl_steps=200)
    at.button(key="sl_train").click().run()
    assert not at.exception, at.exception
    run = at.session_state["score_lab_run"]
    assert run.job.wait(90), "training did not finish"
    assert run.job.state == "done", run.job.error
    at.run()
    assert not at.exception, at.exception
    history = run.history
    assert history[-1]["step"] == 200
    rows = chart_rows(at, "Loss")
    losses = [r for r in rows if r["series"] == training_charts.LOSS_LABEL]
    floors = [r for r in rows if r["series"] == training_charts.FLOOR_LABEL]
    assert [r["step"] for r in losses] == [h["step"] for h in history]
    assert len(floors) == 2 and floors[0]["loss"] == pytest.approx(run.loss_floor())
    assert all(math.isfinite(r["loss"]) for r in rows)
    per_sigma = chart_rows(at, "Loss per noise level")
    assert len({r["sigma"] for r in per_sigma}) == run.config.levels
    chart(at, "2,000 samples")  # the results section is drawn
    labels = [m.label for m in at.metric]
    assert "energy distance to fresh data" in labels and "data vs data (the best possible)" in labels


def test_a_click_during_training_keeps_the_job_and_stop_resume_work():
    at = _open_page(sl_steps=20_000)
    at.button(key="sl_train").click().run()
    run = at.session_state["score_lab_run"]
    job = run.job
    assert wait_for(lambda: (progress_of(job).step or 0) > 0), "training never started"
    at.number_input(key="sl_seed").set_value(7).run()  # another widget: a full rerun
    assert not at.exception, at.exception
    assert at.session_state["score_lab_run"] is run and run.job is job
    assert job.state == "running" or (job.state == "done" and run.steps_done == 20_000)
    at.button(key="sl_stop").click().run()
    assert job.wait(30)
    assert job.state == "cancelled" and 0 < run.steps_done < 20_000
    trainer, stopped_at = run.trainer, run.steps_done
    at.run()
    assert not at.exception, at.exception
    # the step metric and the banner name the same step (not the last logged window's)
    assert [m.value for m in at.metric if m.label == "step"] == [f"{stopped_at:,}"]
    assert any(f"Stopped at step {stopped_at:,} of 20,000" in w.value for w in at.warning)
    at.button(key="sl_resume").click().run()
    assert run.job is not job and run.trainer is trainer
    # the worker trains on from where the Trainer stopped (its state went with the job)...
    assert wait_for(lambda: (progress_of(run.job).step or 0) > stopped_at), "resume did not continue"
    at.button(key="sl_reset").click().run()
    assert "score_lab_run" not in at.session_state
    assert run.job.wait(30) and run.job.state == "cancelled"
    assert run.trainer is trainer and run.steps_done > stopped_at  # ...and its steps came back onto the same one


def test_a_bad_noise_ladder_blocks_train_and_its_message_clears_with_automatic_levels():
    at = _open_page()
    at.checkbox(key="sl_auto_ladder").uncheck().run()
    at.number_input(key="sl_sigma_min").set_value(9.0).run()
    assert any("σ_min (9) must be smaller than σ_max" in w.value for w in at.warning)
    assert at.button(key="sl_train").disabled  # the warning says why
    at.checkbox(key="sl_auto_ladder").check().run()
    assert not at.exception, at.exception
    assert not [w.value for w in at.warning] and not [e.value for e in at.error]
    assert at.button(key="sl_train").disabled is False


def test_a_queued_run_says_truthfully_where_it_stands():
    import threading

    from app.ui.resources import job_pool

    pool, release = job_pool(), threading.Event()
    blockers = [pool.submit(lambda j: release.wait(60), name="someone else's run") for _ in range(pool.max_workers)]
    try:
        at = _open_page()
        at.button(key="sl_train").click().run()
        assert at.session_state["score_lab_run"].job.state == "queued"
        assert any("yours is next, once a running job finishes" in i.value for i in at.info)
        extra = pool.submit(lambda j: release.wait(60), name="a third run")  # queued behind this tab's
        at.session_state["score_lab_run"].job.cancel()
        at.run()
        at.button(key="sl_train").click().run()
        assert any("1 more job waits ahead of yours" in i.value for i in at.info)
    finally:
        release.set()
        for job in blockers + [extra]:
            job.wait(30)


def test_a_diverging_learning_rate_shows_the_error_and_no_nan():
    at = _open_page(sl_steps=400, sl_lr=10.0)
    at.button(key="sl_train").click().run()
    run = at.session_state["score_lab_run"]
    assert run.job.wait(90)
    at.run()
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert "diverged" in errors and "smaller learning rate" in errors
    assert run.steps_done < 400
    # lr = 10 usually explodes within the first logging window, so the kept history may be empty:
    # what matters is that no chart carries a NaN or an exploded value.
    for title in ("Loss", "Loss per noise level"):
        rows = chart_rows(at, title)
        assert all(math.isfinite(r["loss"]) and abs(r["loss"]) < EXPLODED_LOSS for r in rows)
    chart(at, "2,000 samples")  # the last sane weights still sample


def test_csv_upload_errors_are_shown_and_a_good_csv_trains(tmp_path):
    at = _open_page()
    at.radio(key="sl_source").set_value("your CSV").run()
    at.file_uploader(key="sl_csv_upload").set_value(("bad.csv", b"x;y\n1;2\n3;4\n", "text/csv")).run()
    assert not at.exception, at.exception
    assert any("separator must be a comma" in e.value for e in at.sidebar.error)
    good = "x,y\n" + "\n".join(f"{10 + i % 7},{-3 + (i * 37) % 11}" for i in range(60))
    at.file_uploader(key="sl_csv_upload").set_value(("good.csv", good.encode(), "text/csv")).run()
    assert not at.sidebar.error
    assert any("good.csv: 60 points" in c.value for c in at.sidebar.caption)


def test_loading_a_saved_model_and_a_bad_zip():
    run = quick_score_run(steps=20)
    job = JobPool(1).submit(lambda j: training_run.training_job(j, run))
    assert job.wait(120) and job.state == "done"
    at = _open_page()
    at.file_uploader(key="sl_zip_upload").set_value(("junk.zip", b"not a zip", "application/zip")).run()
    assert any("not a zip file" in e.value for e in at.error)
    at.file_uploader(key="sl_zip_upload").set_value(
        ("model.zip", training_run.run_zip_bytes(run), "application/zip")).run()
    assert not at.exception, at.exception
    loaded = at.session_state["score_lab_run"]
    assert loaded.loaded is not None and loaded.steps_done == 20
    assert loaded.data is not None and loaded.data.spec == DatasetSpec.builtin("8-gaussians")
    assert loaded.loss_floor() is not None
    rows = chart_rows(at, "Loss")
    assert [r["step"] for r in rows if r["series"] == training_charts.LOSS_LABEL] == [h["step"] for h in run.history]
    chart(at, "2,000 samples")
    shares = {r["label"]: r["share"] for r in chart_rows(at, "Share of samples per mode") if "what" not in r}
    assert len(shares) == 9 and "off every mode" in shares and sum(shares.values()) == pytest.approx(1.0)
    # the training-set floor with the population's beside it (8-gaussians is a known mixture)
    floor = next(m for m in at.metric if m.label == "floor of the training set")
    assert floor.delta.startswith("population ")
    assert float(floor.delta.split()[1]) == pytest.approx(loaded.loss_floor(), abs=0.05)
    energy = next(m for m in at.metric if m.label == "energy distance to fresh data")
    assert energy.delta.endswith("× data vs data")
    assert re.fullmatch(r"\d+% / \d+%", next(m.value for m in at.metric if m.label == "precision / recall"))
    # the honest "likely place" map: the model's own log-density by the probability-flow ODE
    at.radio(key="sl_field_view").set_value("log density").run()
    assert not at.exception, at.exception
    values = [r["value"] for r in chart_rows(at, "The model's log-density") if "value" in r]
    assert len(values) == 31 ** 2 and all(math.isfinite(v) for v in values)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA to fail on CUDA")
def test_missing_cuda_shows_a_message_and_a_cpu_fallback():
    run = quick_score_run(steps=40, device="cuda")
    run.job = JobPool(1).submit(lambda j: training_run.training_job(j, run))
    assert run.job.wait(60) and run.job.state == "failed"
    assert training_run.classify_error(run.job.exception) == "device"
    at = _open_page()
    at.session_state["score_lab_run"] = run
    at.run()
    assert any("CUDA" in e.value for e in at.error)
    at.button(key="sl_cpu_fallback").click().run()
    assert not at.exception, at.exception
    retry = at.session_state["score_lab_run"]
    assert retry is not run and retry.config.device == "cpu" and retry.data.spec == run.data.spec
    assert at.session_state["sl_device"] == "cpu"
    assert retry.job.wait(60) and retry.job.state == "done", retry.job.error


@pytest.mark.slow
def test_the_page_does_not_import_diffusers():
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(ROOT / 'app' / 'views' / 'score_lab.py')!r}, default_timeout=60)\n"
        "at.run()\n"
        "assert not at.exception, at.exception\n"
        "print('DIFFUSERS', 'diffusers' in sys.modules, 'transformers' in sys.modules)\n"
    )
    out = run_python(code)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "DIFFUSERS False False" in out.stdout


def test_a_reloaded_tab_finds_its_run_by_the_id_in_the_url(monkeypatch):
    first = _open_page(sl_steps=20_000)
    first.button(key="sl_train").click().run()
    run = first.session_state["score_lab_run"]
    run_id = first.query_params["run"][0] if isinstance(first.query_params["run"], list) else first.query_params["run"]
    assert wait_for(lambda: (progress_of(run.job).step or 0) > 0)
    from app.ui import tab_run

    monkeypatch.setattr(tab_run, "session_id", lambda: "reloaded-tab")  # AppTests share one id

    reloaded = new_session(query={"run": run_id})  # a reload: a new session, only the URL survives
    reloaded.switch_page(PAGE).run()
    assert not reloaded.exception, reloaded.exception
    assert reloaded.session_state["score_lab_run"] is run
    assert run.job.owner == "reloaded-tab" and run.job.state == "running"  # the reaper now spares it

    stranger = new_session(query={"run": "not-a-real-id"})
    stranger.switch_page(PAGE).run()
    assert not stranger.exception and "score_lab_run" not in stranger.session_state
    run.job.cancel()


def test_one_job_per_session_across_pages():
    at = _open_page(sl_steps=20_000)
    at.button(key="sl_train").click().run()
    job = at.session_state["score_lab_run"].job
    at.switch_page("views/langevin.py").run()
    at.button(key="lv_train").click().run()
    assert not at.exception, at.exception
    assert any("already have a job in progress (score-lab training)" in e.value for e in at.error)
    assert "lv_net_job" not in at.session_state
    at.switch_page("views/memorization.py").run()
    assert any("The network waits" in i.value for i in at.info)
    assert job.state in ("queued", "running")
    job.cancel()


# ----------------------------------------------------------------------------- drawing and defaults

def test_a_drawing_is_a_training_set_and_an_empty_canvas_says_so():
    from models.lab.drawing import DRAWN_POINTS
    at = _open_page()
    at.radio(key="sl_source").set_value("your drawing").run()  # an empty canvas
    assert not at.exception, at.exception
    assert any("the canvas is empty: draw a shape or click some points first" in w.value for w in at.warning)
    assert at.button(key="sl_train").disabled

    fresh = _open_page()  # a sketch the canvas starts from (as after a visit to another page)
    fresh.session_state["sl_drawing"] = {"objects": [canvas_stroke(30, 30, 200, 200), canvas_dot(200, 40)]}
    fresh.radio(key="sl_source").set_value("your drawing").run()
    assert not fresh.exception, fresh.exception
    assert any(f"1 stroke and 1 point → {DRAWN_POINTS:,} points" in c.value for c in fresh.sidebar.caption)
    assert not fresh.warning and fresh.button(key="sl_train").disabled is False
    rows = chart_rows(fresh, "Data: CSV: your-drawing.csv")
    assert len(rows) == 1500  # the preview shows (a thinned copy of) the drawn points


def test_steps_batch_and_learning_rate_follow_the_data_unless_changed_by_hand():
    from models.lab.datasets import DatasetSpec
    from models.score.defaults import default_settings

    shape, word = default_settings(DatasetSpec.builtin("moons")), default_settings(DatasetSpec.from_text("HELLO"))
    assert shape.steps != word.steps  # else this test checks nothing
    at = _open_page()
    assert at.number_input(key="sl_steps").value == shape.steps
    assert at.number_input(key="sl_lr").value == shape.lr and at.select_slider(key="sl_batch").value == shape.batch_size
    at.radio(key="sl_source").set_value("a word").run()
    assert at.number_input(key="sl_steps").value == word.steps
    at.number_input(key="sl_steps").set_value(700).run()  # a student's own choice
    at.radio(key="sl_source").set_value("built-in shape").run()
    assert at.number_input(key="sl_steps").value == 700
    assert at.number_input(key="sl_lr").value == shape.lr


def test_the_trajectory_player_plays_pauses_and_stops_at_the_last_frame():
    run = quick_score_run(steps=20)
    job = JobPool(1).submit(lambda j: training_run.training_job(j, run, previews=False, loss_floors=False))
    assert job.wait(120) and job.state == "done"
    at = _open_page()
    at.file_uploader(key="sl_zip_upload").set_value(
        ("model.zip", training_run.run_zip_bytes(run), "application/zip")).run()
    loaded = at.session_state["score_lab_run"]
    key = f"sl_player_{loaded.id}_{at.radio(key='sl_sampler').value}"
    frame = at.select_slider(key=f"{key}_frame")
    last = len(frame.options) - 1
    assert frame.value == last  # the finished samples first
    at.button(key=f"{key}_play").click().run()  # at the end, Play starts again from the first frame
    assert at.session_state[f"{key}_playing"] is True and at.session_state[f"{key}_frame"] == 1
    assert at.button(key=f"{key}_play").label == "Pause"
    titles = [json.loads(c.proto.spec).get("title") for c in at.get("vega_lite_chart")]
    assert frame.options[1] in titles  # the chart shows the frame the slider names
    at.run()  # the fragment's timer: one more frame (AppTest runs it on every rerun)
    assert at.session_state[f"{key}_frame"] == 2
    at.button(key=f"{key}_play").click().run()  # Pause
    assert at.session_state[f"{key}_playing"] is False
    at.run()
    assert at.session_state[f"{key}_frame"] == 2  # paused: it stays
    tails = [r for r in chart(at, frame.options[2])["inline_rows"] if "age" in r]
    assert tails and {r["age"] for r in tails} == {0, 1}  # two steps behind frame 2, newest = age 0
    # no web: every tail segment lies inside the plotted square and is short (a jump across it is noise)
    lo, hi = charts.square_domain(loaded.data.points.numpy())
    for i in range(1, last + 1, max(last // 6, 1)):
        at.session_state[f"{key}_frame"] = i
        at.run()
        for r in (r for r in chart(at, frame.options[i])["inline_rows"] if "age" in r):
            assert all(lo <= v <= hi for v in (r["x"], r["y"], r["x2"], r["y2"])), r
            assert math.dist((r["x"], r["y"]), (r["x2"], r["y2"])) <= (hi - lo) * trajectory_player.MAX_JUMP, r
    # the GIF is a download, not a second movie looping on its own clock beside the player
    assert not at.get("image") and not at.get("imgs")
    assert at.get("download_button")
    at.session_state[f"{key}_frame"], at.session_state[f"{key}_playing"] = last, True
    at.run()  # at the last frame the player stops itself
    assert at.session_state[f"{key}_playing"] is False and at.session_state[f"{key}_frame"] == last


def test_a_flow_id_in_the_score_lab_address_starts_the_page_clean():
    # the registry is shared with How FLUX samples (?flow=<id> keeps a {slot: FlowRun}); a curious
    # student pasting that id into ?run= must get a fresh Score lab, not a traceback
    from app.ui.resources import run_registry

    flow_id = run_registry().register({"plain": object()})
    at = new_session(query={"run": flow_id})
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert "score_lab_run" not in at.session_state
    run_registry().forget(flow_id)
