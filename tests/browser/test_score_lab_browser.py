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


def test_draw_your_own_data_with_strokes_and_clicks(app_server, page):
    import math

    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(app_server.url + "/score_lab")
    wait_for_app(page, 120_000)  # a cold start on a busy machine
    page.get_by_text("your drawing", exact=True).click()
    wait_for_app(page, 120_000)
    assert page.get_by_text("the canvas is empty: draw a shape or click some points first").count() >= 1
    assert page.get_by_role("button", name="Train", exact=True).is_disabled()
    canvases = page.locator("[data-testid='stSidebar'] canvas")
    canvases.last.wait_for(timeout=60_000)
    canvas = canvases.nth(canvases.count() - 1)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx + 70, cy)
    page.mouse.down()
    for i in range(40):  # a circle, by hand
        a = 2 * math.pi * i / 39
        page.mouse.move(cx + 70 * math.cos(a), cy + 70 * math.sin(a))
    page.mouse.up()
    page.get_by_text("1 stroke and 0 points", exact=False).wait_for(timeout=60_000)
    wait_for_app(page, 120_000)
    page.get_by_text("click points", exact=True).click()
    wait_for_app(page, 120_000)
    box = canvases.nth(canvases.count() - 1).bounding_box()
    page.mouse.click(box["x"] + 30, box["y"] + 30)
    page.get_by_text("1 stroke and 1 point", exact=False).wait_for(timeout=60_000)
    wait_for_app(page, 120_000)
    _chart_titled(page, "Data: CSV: your-drawing.csv").wait_for(timeout=60_000)
    assert page.get_by_role("button", name="Train", exact=True).is_enabled()
    assert_no_exception(page)
    host = app_server.url.split("//", 1)[1].split("/", 1)[0]
    assert all(u.split("//", 1)[1].startswith(host) for u in requests if "//" in u), \
        [u for u in requests if host not in u]  # the canvas's script ships with the app: nothing else is fetched
