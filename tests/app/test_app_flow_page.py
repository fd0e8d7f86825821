"""How FLUX samples, driven headless with AppTest: a short flow trains in the job pool, and the numbers the
page shows are the ones models/flow/run.py computes for that flow."""

from __future__ import annotations

import pytest

from app.flow_lab.guidance import measured_caption
from models.flow import run as flow
from models.flow.defaults import DEFAULTS
from models.flow.labels import mode_centers
from tests.helpers import chart_rows, metric, open_page

PAGE = "views/how_flux_samples.py"


def _runs(at):
    return at.session_state["flux_flow_runs"]


def test_page_is_in_the_navigation_and_explains_before_training():
    at = open_page(PAGE)
    assert at.title[0].value == "How FLUX samples"
    assert len(at.latex) >= 3
    assert at.button(key="fx_train").disabled is False and at.button(key="fx_stop").disabled is True
    assert [h.value for h in at.header] == ["1 · Train a flow", "2 · Guidance"]  # numbered as shown, no jump
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "FLUX.1-schnell has no guidance input" in text and "w = 1 here" in text   # schnell and dev as they are
    assert "FLUX.1-dev takes a guidance value as an extra input" in text and "no second" in text


@pytest.mark.slow
def test_a_short_flow_trains_and_the_page_shows_its_own_numbers(monkeypatch):
    at = open_page(PAGE)
    at.number_input(key="fx_steps").set_value(150)
    at.button(key="fx_train").click().run()
    run = _runs(at)["main"]
    assert run.job.wait(120) and run.job.state == "done", run.job.error
    at.run()
    assert [h.value.split(" · ")[0] for h in at.header] == [str(i) for i in range(1, 8)]
    assert at.select_slider(key="fx_k").options == [str(k) for k in flow.STEP_COUNTS]
    model = run.model()
    evaluation, floor = flow.evaluation_points(run.data.spec), flow.ed_floor(run.data.spec)
    expected = {k: flow.samples_at_steps(model, k, evaluation, floor) for k in (4, 8)}
    # every step count was sampled with the page; moving the slider only picks one of them (no sampling)
    with monkeypatch.context() as m:
        m.setattr(flow, "samples_at_steps", lambda *a, **k: pytest.fail("the steps slider sampled again"))
        m.setattr(flow.FlowModel, "sample", lambda *a, **k: pytest.fail("the steps slider sampled again"))
        for k in (8, 4):
            at.select_slider(key="fx_k").set_value(k)
            at.run()
            assert not at.exception, [e.value for e in at.exception]
            assert metric(at, "energy distance to fresh data") == f"{expected[k]['energy_distance']:.4f}"
            assert metric(at, "÷ data-vs-data floor") == f"{expected[k]['ratio']:.1f}×"
    sweep = [r for r in chart_rows(at, "Quality vs steps") if "series" in r and not r.get("picked")]
    assert [r["steps"] for r in sweep] == list(flow.STEP_COUNTS)
    assert sweep[0]["ratio"] > sweep[-1]["ratio"]                   # 1 step is worse than 50
    assert any(c.value.startswith("FLUX.1-schnell generates in 4 Euler steps") for c in at.caption)
    assert [r["loss"] for r in chart_rows(at, "Loss of the flow") if r["series"] == "training loss"] == \
        pytest.approx([h["loss"] for h in run.history])
    # Reflow: a second flow on the first one's (noise, sample) pairs; the table shows reflow_numbers
    at.button(key="fx_reflow").click().run()
    child = _runs(at)["reflow"]
    assert child.parent is run and child.job.wait(180) and child.job.state == "done", child.job.error
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    numbers = flow.reflow_numbers(model, child.model(), evaluation, floor)
    table = next(d.value for d in at.table if "first flow" in d.value.columns)
    assert table["first flow"].tolist() == pytest.approx([numbers["before"][k] for k in
                                                          ("straightness", "ratio_1", "ratio_4")])
    assert table["after reflow"].tolist() == pytest.approx([numbers["after"][k] for k in
                                                            ("straightness", "ratio_1", "ratio_4")])
    assert numbers["after"]["straightness"] < numbers["before"]["straightness"]


@pytest.mark.slow
def test_guidance_section_shows_share_and_spread_of_the_guided_samples():
    at = open_page(PAGE)
    assert at.number_input(key="fx_steps").value == DEFAULTS.train_steps              # the CLI's table
    assert at.number_input(key="fx_guided_steps").value == DEFAULTS.conditional_train_steps
    at.number_input(key="fx_guided_steps").set_value(150)
    at.button(key="fx_guided_train").click().run()
    run = _runs(at)["guided"]
    assert run.job.wait(120) and run.job.state == "done", run.job.error
    at.run()
    at.selectbox(key="fx_class").set_value(2)
    at.slider(key="fx_w").set_value(3.0)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    summary = flow.guidance_summary(run.model(), 2, 3.0, mode_centers(run.data.spec))
    assert metric(at, "samples nearest this class's mode") == f"{summary['share']:.1%}"
    assert metric(at, "spread (RMS distance to the samples' own mean)") == f"{summary['spread']:.3f}"
    assert metric(at, "their mean's distance from the mode's centre") == f"{summary['offset']:.3f}"
    table = at.table[-1].value
    assert table["w"].tolist() == [0.0, 1.0, 3.0, 5.0, 3.0, 5.0]
    assert table["guidance on"].tolist() == ["whole path"] * 4 + ["0.4 < t ≤ 0.8"] * 2
    assert table["nearest this mode"].iloc[0] < 0.5 < table["nearest this mode"].iloc[1]
    rows = flow.guidance_table(run.model(), 2, mode_centers(run.data.spec))
    assert table["spread"].tolist() == pytest.approx([r["spread"] for r in rows])
    assert any(c.value == measured_caption(rows, run.class_names[2]) for c in at.caption)
    # the toggle: guidance only in the band, measured the same way
    at.toggle(key="fx_interval").set_value(True).run()
    banded = flow.guidance_summary(run.model(), 2, 3.0, mode_centers(run.data.spec),
                                   interval=DEFAULTS.guidance_interval)
    assert metric(at, "spread (RMS distance to the samples' own mean)") == f"{banded['spread']:.3f}"
    assert metric(at, "their mean's distance from the mode's centre") == f"{banded['offset']:.3f}"


def test_a_reloaded_tab_finds_its_flow_by_the_url():
    at = open_page(PAGE)
    at.number_input(key="fx_steps").set_value(100)
    at.button(key="fx_train").click().run()
    run = _runs(at)["main"]
    flow_id = at.query_params["flow"]
    assert flow_id and run.job.wait(120)
    # a new session, as after a browser reload
    again = open_page(PAGE, query={"flow": flow_id[0] if isinstance(flow_id, list) else flow_id})
    assert _runs(again)["main"] is run


@pytest.mark.parametrize("changes", [{"class_names": []}, {"dataset": {"kind": "builtin", "name": "moons"}}])
def test_a_crafted_conditional_flow_zip_never_breaks_the_page(changes):
    """num_classes 8 with class_names [] (or data of two classes) crashed How FLUX samples on upload."""
    from tests.flow.test_training import _crafted_conditional_zip

    at = open_page(PAGE)
    at.file_uploader(key="fx_zip_upload").upload("crafted.zip", _crafted_conditional_zip(**changes),
                                                 "application/zip").run()
    assert not at.exception, [e.value for e in at.exception]
    assert _runs(at)["guided"].config.num_classes == 8


def test_the_guidance_caption_says_what_this_flow_measured():
    """The caption reads the table: wider or narrower, and how far the mean moved, as measured."""
    from app.flow_lab.guidance import measured_caption

    def rows(spread_3, offset_3):
        return [{"w": 1.0, "guided": "whole path", "share": 1.0, "spread": 0.11, "offset": 0.01},
                {"w": 3.0, "guided": "whole path", "share": 1.0, "spread": spread_3, "offset": offset_3},
                {"w": 3.0, "guided": "0.4 < t ≤ 0.8", "share": 1.0, "spread": 0.07, "offset": 0.10}]

    wider = measured_caption(rows(0.37, 0.21), "mode 1 (0°)")
    assert "wider" in wider and "0.110 → 0.370" in wider and "0.210" in wider and "0.070" in wider
    narrower = measured_caption(rows(0.06, 0.09), "mode 1 (0°)")
    assert "narrower" in narrower and "wider" not in narrower
    no_centre = measured_caption([dict(r, share=None, offset=None) for r in rows(0.2, 0.1)], "upper moon")
    assert "wider" in no_centre and "None" not in no_centre
