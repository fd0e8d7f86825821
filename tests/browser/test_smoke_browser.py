"""Every page opens in a real browser with no exception shown."""

import pytest

from tests.browser.conftest import assert_no_exception, wait_for_app

pytestmark = pytest.mark.browser

PAGES = ["", "gallery", "score_lab", "langevin", "forward_noising", "memorization"]


@pytest.mark.parametrize("path", PAGES)
def test_page_opens_without_exception(app_server, page, path):
    page.goto(f"{app_server.url}/{path}")
    wait_for_app(page)
    assert_no_exception(page)
    assert "Diffusion Classroom" in page.title() or page.locator("h1").count() >= 1
