"""A classroom in real browsers: students on the class network cannot edit the lesson until the
instructor signs in, and a reloaded tab keeps its training run."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import assert_no_exception, wait_for_app

pytestmark = pytest.mark.browser


def _gallery(page, url: str) -> None:
    page.goto(url + "/")
    wait_for_app(page)
    page.locator("[data-testid='stSidebarNavLink']", has_text="FLUX gallery").click()
    wait_for_app(page, 60_000)
    assert_no_exception(page)


def test_students_are_read_only_until_the_instructor_signs_in(classroom_server, browser):
    student = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    instructor = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        for page in (student, instructor):
            _gallery(page, classroom_server.url)
            assert page.get_by_text("Read-only: the instructor edits this lesson").count() == 1
            assert page.get_by_text("Edit", exact=True).count() == 0
        sidebar = instructor.locator("[data-testid='stSidebar']")
        sidebar.get_by_text("Instructor sign-in").click()
        box = sidebar.get_by_label("Instructor token")
        box.fill("owl-41")
        box.press("Enter")
        wait_for_app(instructor)
        assert sidebar.get_by_text("That token is not right.").count() == 1
        box.fill("owl-42")
        box.press("Enter")
        wait_for_app(instructor)
        assert sidebar.get_by_text("Signed in as the instructor").count() == 1
        assert instructor.get_by_text("Read-only: the instructor edits this lesson").count() == 0
        assert instructor.get_by_text("Edit", exact=True).count() >= 1
        student.reload()  # the other browser is still a student
        wait_for_app(student, 60_000)
        assert student.get_by_text("Read-only: the instructor edits this lesson").count() == 1
    finally:
        student.context.close()
        instructor.context.close()


def test_a_reloaded_tab_keeps_its_training_run(app_server, page):
    page.goto(app_server.url + "/")
    wait_for_app(page)
    page.locator("[data-testid='stSidebarNavLink']", has_text="Score lab").click()
    wait_for_app(page)
    steps = page.get_by_role("spinbutton", name="Training steps")
    steps.fill("20000")  # the most a run may ask for: still training long after the reload (Stop ends it)
    steps.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text(re.compile(r"training: step")).first.wait_for(timeout=60_000)
    assert re.search(r"[?&]run=", page.url), page.url
    page.reload()  # a new Streamlit session: only the URL survives
    wait_for_app(page)
    assert_no_exception(page)
    # The new session has the same run, still training (its 20,000 steps), and its Stop button stops it.
    page.get_by_text(re.compile(r"training: step [\d,]+ / 20,000")).first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("What the model learned").first.wait_for(timeout=180_000)
    assert page.get_by_text(re.compile(r"Stopped at step [\d,]+ of 20,000")).count() == 1
    assert page.get_by_text(re.compile(r"Model: NCSN · dsm · moons · [\d,]+ steps")).count() == 1
