"""The Gallery page in a real browser: edit a commentary, save, find the text in the prompt file."""

from __future__ import annotations

import time
import tomllib

import pytest

from tests.browser.conftest import assert_no_exception, wait_for_app

pytestmark = pytest.mark.browser

WITCH = "witch-black-hole"


def test_edit_commentary_and_save_writes_the_file(app_server, page):
    page.goto(f"{app_server.url}/gallery")
    wait_for_app(page)
    assert_no_exception(page)
    assert page.get_by_text("demo pipeline — random weights, not FLUX output").count() >= 1

    page.locator(".st-key-gallery_edit label").click()
    wait_for_app(page)
    box = page.locator(f"[class*='st-key-ge_comm_{WITCH}_r'] textarea")  # the key carries the file's revision
    box.fill("Typed in a real browser: the **orb** reading wins.")
    box.press("Control+Enter")  # commit the text area, as leaving it would
    wait_for_app(page)
    save = page.locator(".st-key-gallery_save").get_by_role("button", name="Save")
    assert save.is_enabled()
    save.click()
    wait_for_app(page)
    assert_no_exception(page)

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        text = app_server.prompts_file.read_text(encoding="utf-8")
        if "Typed in a real browser" in text:
            break
        time.sleep(0.2)
    data = tomllib.loads(text)
    witch = [p for s in data["sections"] for p in s.get("prompts", []) if p["id"] == WITCH][0]
    assert witch["commentary"] == "Typed in a real browser: the **orb** reading wins.\n"
    assert "# How to edit this file" in text  # the file's comments survived
    assert page.locator(".st-key-gallery_save").get_by_role("button", name="Save").is_disabled()  # nothing left unsaved


@pytest.fixture
def new_images_deleted(app_server):
    """Images a test makes in the shared server's store are deleted afterwards: later tests count the images."""
    from models.flux.store import ImageStore

    store = ImageStore(app_server.output_dir)
    before = {image.path for image in store.find()}
    yield
    for image in store.find():
        if image.path not in before:
            store.delete(image.path)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_generate_shows_progress_then_the_image(app_server, page, new_images_deleted):
    """Loads the tiny pipeline in the server (imports diffusers) and makes a 1024x1024 demo image."""
    page.goto(f"{app_server.url}/gallery")
    wait_for_app(page)
    page.locator(".st-key-gallery_more").get_by_role("button").click()  # its card is past the first four
    wait_for_app(page)
    prompt = "pastoral-holiday-mixed-script"
    page.locator(f".st-key-gallery_gen_{prompt}").get_by_role("button", name="Generate").click()
    # The job runs in the background; the fragment redraws the progress, then the page shows the image.
    page.get_by_text(f"· {prompt} ·").first.wait_for(timeout=60_000)  # the progress bar's text
    page.locator(f"[class*='st-key-gallery_grid_{prompt}_star_']").first.wait_for(timeout=420_000)
    wait_for_app(page)
    assert_no_exception(page)
    assert page.get_by_text("1 image(s) ready (1 new").count() == 1
    assert page.get_by_text("seed 1860 · demo pipeline — random weights, not FLUX output").count() >= 1


def test_handout_and_zip_downloads(app_server, page, tmp_path):
    import zipfile

    page.goto(f"{app_server.url}/gallery")
    wait_for_app(page)
    with page.expect_download(timeout=60_000) as html_download:
        page.locator(".st-key-gallery_html").get_by_role("button").click()
    handout = tmp_path / "handout.html"
    html_download.value.save_as(handout)
    text = handout.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Task 0.3 · Discussion" in text
    assert "a suit of Trump playing cards" in text and "<script" not in text

    with page.expect_download(timeout=60_000) as zip_download:
        page.locator(".st-key-gallery_zip").get_by_role("button").click()
    archive = tmp_path / "export.zip"
    zip_download.value.save_as(archive)
    with zipfile.ZipFile(archive) as zf:
        assert app_server.prompts_file.name in zf.namelist() and "manifest.json" in zf.namelist()
