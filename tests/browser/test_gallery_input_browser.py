"""Input that once crashed the Gallery, in a real browser."""

from __future__ import annotations

import pytest

from tests.browser.conftest import assert_no_exception, wait_for_app
from tests.flux_fixtures import GOOD, huge_png, ours

pytestmark = pytest.mark.browser


def test_a_wrong_value_type_is_shown_in_its_card_and_later_prompts_still_show(app_server, lesson_file, page):
    text = lesson_file.read_text(encoding="utf-8").replace('id = "witch-black-hole"\n',
                                                           'id = "witch-black-hole"\nsteps = "four"\n')
    lesson_file.write_text(text, encoding="utf-8")
    line = text.splitlines().index('steps = "four"') + 1
    page.goto(f"{app_server.url}/gallery")
    wait_for_app(page)
    assert_no_exception(page)
    page.locator(".st-key-gallery_more").get_by_role("button").click()  # the witch's card is past the first four
    wait_for_app(page)
    page.get_by_text(f"{lesson_file.name}:{line}: steps must be a whole number").wait_for(timeout=30_000)
    page.get_by_text("пастораль 节日, illustration").first.wait_for(timeout=30_000)  # the prompt after it is there
    assert_no_exception(page)


def test_untrusted_pngs_are_refused_in_one_line(app_server, page, tmp_path):
    page.goto(f"{app_server.url}/gallery")
    wait_for_app(page)
    page.get_by_text("Recall a PNG's parameters into a new prompt").click()
    for name, data in {"huge.png": huge_png(30000, 30000), "five.png": ours({"params": 5}),
                       "guidance.png": ours({"params": {**GOOD, "guidance_scale": "x"}})}.items():
        path = tmp_path / name
        path.write_bytes(data)
        page.locator(".st-key-gallery_upload input[type='file']").set_input_files(str(path))
        page.get_by_text(f"Cannot recall {name}").wait_for(timeout=30_000)
        wait_for_app(page)
        assert_no_exception(page)
        assert page.locator(".st-key-gallery_upload_add").count() == 0
