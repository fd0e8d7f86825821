"""Text to image, trained here: the page driven headless with AppTest (a short training run in the job pool)."""

from __future__ import annotations

import pytest

from tests.helpers import open_page

PAGE = "views/text_to_image.py"


def test_page_opens_with_honest_labels_and_a_train_button():
    at = open_page(PAGE)
    assert at.title[0].value == "Text to image, trained here"
    assert "An 8×8 digit model trained on this computer" in at.caption[0].value
    assert at.button(key="t2i_train").disabled is False and at.button(key="t2i_stop").disabled is True
    assert "FLUX" not in at.title[0].value


@pytest.mark.slow
def test_train_then_prompt_compare_failures_and_reattach():
    at = open_page(PAGE)
    at.number_input(key="t2i_steps").set_value(300)
    at.button(key="t2i_train").click().run()
    run = at.session_state["t2i_run"]
    assert run.job.wait(120) and run.job.state == "done", run.job.error
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [m.value for m in at.metric if m.label == "step"] == ["300"]
    assert run.trained.steps_trained == 300 and run.live().grid is not None
    # the prompt box: pieces marked, images judged, the timeline drawn
    markdown = " ".join(m.value for m in at.markdown)
    assert ":green-badge[seven␣]" in markdown
    at.text_input(key="t2i_prompt").set_value("семь").run()
    assert ":red-badge[" in " ".join(m.value for m in at.markdown)
    captions = " ".join(c.value for c in at.caption)
    assert "5 never seen in training" in captions
    images = at.get("image")
    # the ten-word grid, the prompt's images and its step timeline, two compared, three failure cases
    assert len(images) == 1 + 2 + 2 + 3
    assert any("Step timeline" in i.caption for el in images for i in el.proto.imgs)
    at.slider(key="t2i_sample_steps").set_value(6).run()
    at.slider(key="t2i_n").set_value(3).run()
    assert not at.exception
    before = at.session_state["t2i_seed"]
    at.button(key="t2i_randomize").click().run()
    assert at.session_state["t2i_seed"] != before or before == 0 and at.session_state["t2i_seed"] != 0
    # the failure panel and the bias table
    assert any("семь 七, digit" in m.value for m in at.markdown)
    assert len(at.dataframe) == 1
    assert {el.proto.page for el in at.get("page_link")} >= {"gallery"}
    # a reload (a fresh session with ?run=) finds the same run
    run_id = at.query_params["run"][0] if isinstance(at.query_params["run"], list) else at.query_params["run"]
    again = open_page(PAGE, query={"run": run_id})
    assert again.session_state["t2i_run"] is run
