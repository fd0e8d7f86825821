"""Two browsers edit the same lesson file: nobody's saved edit is silently reverted.

The bug lived in the browser: after a reload from disk the server forgot its edit widgets, but the
browser still held their old values and sent them back, and they were written into the fresh document.
Only a real browser reproduces it, so these tests drive two Chromium contexts (two sessions).
"""

from __future__ import annotations

import time
import tomllib

import pytest

from tests.browser.conftest import assert_no_exception, wait_for_app

pytestmark = pytest.mark.browser

WITCH = "witch-black-hole"
PASTORAL = "pastoral-holiday-mixed-script"


@pytest.fixture
def open_session(browser, app_server):
    """open_session() -> a page of a new browser context (a session of its own) on the Gallery."""
    contexts = []

    def open_one():
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{app_server.url}/gallery")
        wait_for_app(page)
        assert_no_exception(page)
        return page

    yield open_one
    for context in contexts:
        context.close()


def edit_box(page, kind: str, ident: str):
    """The edit widget of a field; its key carries the document's revision (ge_<kind>_<id>_r<rev>)."""
    tag = "textarea" if kind in ("comm", "text", "scomm") else "input"
    return page.locator(f"[class*='st-key-ge_{kind}_{ident}_r'] {tag}")


def type_into(page, kind: str, ident: str, value: str) -> None:
    box = edit_box(page, kind, ident)
    box.fill(value)
    box.press("Control+Enter" if kind in ("comm", "text", "scomm") else "Enter")  # commit, as leaving it would
    wait_for_app(page)


def switch_on_edit(page) -> None:
    page.locator(".st-key-gallery_edit label").click()
    wait_for_app(page)


def save_button(page):
    return page.locator(".st-key-gallery_save").get_by_role("button", name="Save")


def click_save(page) -> None:
    save_button(page).click()
    wait_for_app(page)
    assert_no_exception(page)


def prompt_in_file(path, prompt_id: str, wait_for: str | None = None) -> dict:
    deadline = time.monotonic() + 15
    while True:
        text = path.read_text(encoding="utf-8")
        if wait_for is None or wait_for in text or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    data = tomllib.loads(text)
    return [p for s in data["sections"] for p in s.get("prompts", []) if p["id"] == prompt_id][0]


def set_variations(page, prompt_id: str, count: int) -> None:
    """Touch an unrelated widget: any rerun is enough to send the browser's widget values back."""
    box = page.locator(f".st-key-gallery_nvar_{prompt_id} input")
    box.fill(str(count))
    box.press("Enter")
    wait_for_app(page)


def test_a_second_session_never_reverts_a_saved_edit(open_session, lesson_file):
    """The issue's exact steps: B saves the witch commentary; A touches Variations, edits a translation, saves."""
    a, b = open_session(), open_session()
    switch_on_edit(a)
    switch_on_edit(b)

    type_into(b, "comm", WITCH, "B wrote this in class.")
    click_save(b)
    assert prompt_in_file(lesson_file, WITCH, "B wrote this")["commentary"] == "B wrote this in class.\n"

    set_variations(a, WITCH, 3)
    assert save_button(a).is_disabled()  # A has changed nothing in the file
    type_into(a, "tr", PASTORAL, "a pastoral festival")
    click_save(a)
    assert a.get_by_text("Not saved").count() == 0  # different fields: no conflict

    assert prompt_in_file(lesson_file, PASTORAL, "a pastoral festival")["translation"] == "a pastoral festival"
    assert prompt_in_file(lesson_file, WITCH)["commentary"] == "B wrote this in class.\n"  # B's text survives
    # A's page shows B's text too, and neither page has anything left to save.
    assert edit_box(a, "comm", WITCH).input_value() == "B wrote this in class.\n"
    assert save_button(a).is_disabled() and save_button(b).is_disabled()


def test_reload_from_disk_drops_my_edits_and_random_seed_sticks(open_session, lesson_file):
    a = open_session()
    switch_on_edit(a)

    # Random seed: the new seed stays through later reruns (the old value once came back).
    a.locator(f".st-key-gallery_rand_{WITCH}").get_by_role("button").click()
    wait_for_app(a)
    new_seed = edit_box(a, "seed", WITCH).input_value()
    assert new_seed != "7"
    set_variations(a, WITCH, 3)
    set_variations(a, WITCH, 4)
    assert edit_box(a, "seed", WITCH).input_value() == new_seed

    # A real conflict: the same field changed on disk. "Reload from disk" drops every edit of mine.
    type_into(a, "comm", WITCH, "mine, to be dropped")
    text = lesson_file.read_text(encoding="utf-8")
    lesson_file.write_text(text.replace("- *holding up* can also", "- *holding up* (edited on disk) can also"),
                           encoding="utf-8")
    click_save(a)
    assert a.get_by_text("Not saved").count() >= 1
    a.locator(".st-key-gallery_reload").get_by_role("button").click()
    wait_for_app(a)
    set_variations(a, WITCH, 2)  # one more rerun: the browser sends its widget values again
    assert "(edited on disk)" in edit_box(a, "comm", WITCH).input_value()
    assert edit_box(a, "seed", WITCH).input_value() == "7"
    assert save_button(a).is_disabled()
    assert "mine, to be dropped" not in lesson_file.read_text(encoding="utf-8")
