"""The gallery's images in a real browser: tiles ≥ 300 px at 1280, the lightbox with PNG info and timeline."""

from __future__ import annotations

import pytest
from PIL import Image

from models.flux.params import GenerationParams
from models.flux.store import ImageStore
from models.flux.tiny import TINY_MODEL_ID, TINY_REVISION
from models.flux.timeline import TimelineFrame
from tests.browser.conftest import assert_no_exception, wait_for_app

pytestmark = pytest.mark.browser

CAT = "gouache-cat-wizard"  # no other browser test draws this prompt
CAT_TEXT = "A gouache cat wizard casting fireball hexes surrounded by whales swimming in the sky, painterly"


@pytest.fixture
def cat_image(app_server, lesson_file):
    """A stored demo image of the cat prompt (seed 314, as the file says) with a 4-step timeline."""
    store = ImageStore(app_server.output_dir)
    params = GenerationParams(prompt=CAT_TEXT, seed=314, model_id=TINY_MODEL_ID, revision=TINY_REVISION)
    frames = [TimelineFrame(step=k, t=1 - (k - 1) / 4, image=Image.new("RGB", (64, 64), (60 * k, 90, 120)))
              for k in range(1, 5)]
    path = store.save(Image.new("RGB", (256, 256), (200, 120, 40)), params, extra={"prompt_id": CAT, "is_demo": True},
                      timeline=frames)
    yield path
    store.delete(path)


def test_tiles_are_at_least_300px_at_1280_and_open_a_lightbox(app_server, browser, cat_image):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{app_server.url}/gallery")
        wait_for_app(page, 60_000)
        assert_no_exception(page)
        tile = page.locator(f".st-key-gallery_grid_{CAT}_open_{cat_image.stem}")
        tile.wait_for(timeout=30_000)
        tile.scroll_into_view_if_needed()
        page.locator("[data-testid='stImage'] img").first.wait_for(timeout=30_000)
        widths = page.eval_on_selector_all(  # the cards' tiles (the contact sheet above them is small on purpose)
            "[data-testid='stImage'] img:not(.st-key-gallery_sheet img)",
            "els => els.map(e => e.getBoundingClientRect().width)")
        assert widths and min(widths) >= 300, widths
        tile.get_by_role("button", name="Open").click()
        dialog = page.locator("[data-testid='stDialog']")
        dialog.get_by_text("Step timeline").wait_for(timeout=30_000)
        assert dialog.get_by_text("Steps: 4, Sampler: flow-match euler").count() == 1  # the PNG info
        assert dialog.get_by_text("step 4 · t = 0.25").count() == 1
        with page.expect_download(timeout=30_000) as download:
            dialog.get_by_role("button", name="Download PNG").click()
        assert download.value.suggested_filename == f"{CAT}_seed314.png"
        assert_no_exception(page)
    finally:
        context.close()
