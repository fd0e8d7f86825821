"""Score lab in a real browser: Home → Score lab → Train → the loss chart and the samples appear."""

import pytest

from tests.browser.conftest import assert_no_exception, wait_for_app

pytestmark = pytest.mark.browser



def _chart_titled(page, title: str):
    # Charts carry their title as the accessible name (big ones draw on a canvas, without SVG text).
    return page.locator(f"[data-testid='stVegaLiteChart'][aria-label*='{title}']").first


def test_train_from_the_browser_and_see_loss_and_samples(app_server, page):
    page.goto(app_server.url + "/")
    wait_for_app(page)
    assert_no_exception(page)

    page.locator("[data-testid='stSidebarNavLink']", has_text="Score lab").click()
    wait_for_app(page)
    assert_no_exception(page)
    assert page.get_by_role("heading", name="Score lab").count() >= 1

    steps = page.get_by_role("spinbutton", name="Training steps")
    steps.fill("300")
    steps.press("Enter")
    wait_for_app(page)

    page.get_by_role("button", name="Train", exact=True).click()
    # The live fragment draws the loss chart while the job trains in the background.
    _chart_titled(page, "Loss (mean over the noise levels)").wait_for(timeout=60_000)
    assert_no_exception(page)
    # When the job ends, the page reruns once and the results section appears.
    _chart_titled(page, "samples vs the training data").wait_for(timeout=120_000)
    wait_for_app(page)
    assert_no_exception(page)
    assert page.get_by_text("energy distance to fresh data").count() == 1
    assert page.get_by_text("300 steps").count() >= 1

    # Another page and back: the trained model is still there (the job lives in the session).
    page.locator("[data-testid='stSidebarNavLink']", has_text="Forward noising").click()
    wait_for_app(page)
    assert_no_exception(page)
    page.locator("[data-testid='stSidebarNavLink']", has_text="Score lab").click()
    wait_for_app(page)
    _chart_titled(page, "samples vs the training data").wait_for(timeout=60_000)
    assert page.get_by_role("spinbutton", name="Training steps").input_value() == "300"
    assert_no_exception(page)
