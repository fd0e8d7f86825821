"""Every page at real screen sizes, presentation mode, and no request leaving the server.

Sizes: 1024×768 with the sidebar open (a projector), 853×533 (1280×800 zoomed to 150 % for the back
row), 1920×1080, and 390×844 (a phone). On every page in the navigation (read from app/main.py, so a
new page is covered without touching this file): no chart, table, image or equation reaches past the
box it is drawn in (its column, or the main column; an equation may scroll inside its own box), and
no button label, metric label, value or delta is cut off.

Cost: one browser tab, each page loaded once at 1024×768 and then resized.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import ROOT, assert_no_exception, wait_for_app

pytestmark = pytest.mark.browser

PROJECTOR = (1024, 768)
RESIZED = [(853, 533), (1920, 1080)]   # the same tab resized: the sidebar stays open
PHONE = (390, 844)                     # resized last: Streamlit collapses the sidebar, columns stack

# What must fit, for one page as it is now. Returns one line per problem.
PROBE = (Path(__file__).parent / "layout_probe.js").read_text()


def navigation_pages() -> list[str]:
    """The URL path of every page in app/main.py's navigation ('' for the default page)."""
    source = (ROOT / "app" / "main.py").read_text()
    starts = [m for m in re.finditer(r'st\.Page\(\s*"views/(\w+)\.py"', source)]
    paths = []
    for i, m in enumerate(starts):
        rest = source[m.end(): starts[i + 1].start() if i + 1 < len(starts) else len(source)]
        paths.append("" if re.search(r"default\s*=\s*True", rest) else m.group(1))
    return paths


PAGES = navigation_pages()


def _open(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page, timeout_ms=60_000)
    page.wait_for_timeout(800)  # charts lay themselves out after the script has finished
    assert_no_exception(page)


def _problems(page, size, settle_s: float = 6.0) -> list[str]:
    """What does not fit at this size, once the page has had up to settle_s to re-fit its charts
    (Vega re-fits a container-wide chart after the resize; on a busy machine that takes a while)."""
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.wait_for_timeout(500)
    for _ in range(int(settle_s / 0.5)):
        problems = page.evaluate(PROBE)
        if not problems:
            return []
        page.wait_for_timeout(500)
    return [f"{size[0]}×{size[1]}: {p}" for p in problems]


@pytest.fixture(scope="module")
def projector_tab(browser):
    context = browser.new_context(viewport={"width": PROJECTOR[0], "height": PROJECTOR[1]})
    tab = context.new_page()
    requests: list[str] = []
    tab.on("request", lambda r: requests.append(r.url))
    tab.requests = requests
    yield tab
    context.close()


def test_the_navigation_lists_every_page(app_server, projector_tab):
    _open(projector_tab, app_server.url + "/")
    links = projector_tab.locator("[data-testid='stSidebarNavLink']")
    assert links.count() == len(PAGES), "pages in app/main.py and the sidebar disagree"


@pytest.mark.parametrize("path", PAGES, ids=[p or "home" for p in PAGES])
def test_page_fits_at_every_screen_size(app_server, projector_tab, path):
    projector_tab.set_viewport_size({"width": PROJECTOR[0], "height": PROJECTOR[1]})
    _open(projector_tab, f"{app_server.url}/{path}")
    assert projector_tab.locator("[data-testid='stSidebar'][data-collapsed='false']").count() == 1
    problems = []
    for size in [PROJECTOR] + RESIZED + [PHONE]:
        problems += _problems(projector_tab, size)
    assert projector_tab.locator("[data-testid='stSidebar'][data-collapsed='true']").count() == 1  # phone
    assert not problems, "\n".join(problems)


def test_every_request_goes_to_the_app_itself(app_server, projector_tab):
    # after the pages above: the favicon, fonts, scripts and media all come from the app's own host
    # (a material page icon used to be fetched from fonts.gstatic.com, which fails offline)
    _open(projector_tab, app_server.url + "/")
    assert projector_tab.requests, "no requests were logged"
    own = urlsplit(app_server.url).netloc
    foreign = sorted({u for u in projector_tab.requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")
                      and urlsplit(u).netloc != own})
    assert not foreign, foreign
    icons = projector_tab.evaluate("[...document.querySelectorAll('link[rel~=icon]')].map(l => l.href)")
    assert icons and all(urlsplit(i).netloc == own for i in icons), icons


# ----------------------------------------------------------------------------- presentation mode

# the font size of every paragraph of body text in the main column (not captions, labels or buttons)
BODY_TEXT_SIZES = """() => [...document.querySelectorAll("[data-testid='stMain'] [data-testid='stMarkdownContainer'] p")]
  .filter(p => !p.closest("[data-testid='stCaptionContainer'], button, summary, label, [data-testid='stMetric']"))
  .map(p => parseFloat(getComputedStyle(p).fontSize))"""


def _px(page, selector: str, prop: str = "font-size") -> float:
    value = page.locator(selector).first.evaluate(f"e => getComputedStyle(e).getPropertyValue('{prop}')")
    return float(value.removesuffix("px"))


def test_presentation_mode_puts_train_and_the_loss_chart_above_the_fold(app_server, browser):
    context = browser.new_context(viewport={"width": PROJECTOR[0], "height": PROJECTOR[1]})
    tab = context.new_page()
    try:
        _open(tab, app_server.url + "/score_lab?present=1")
        # the address turns it on: sidebar collapsed, large type, the "How it works" box closed
        assert tab.locator("[data-testid='stSidebar'][data-collapsed='true']").count() == 1
        assert _px(tab, "html") >= 20
        assert min(tab.evaluate(BODY_TEXT_SIZES)) >= 20
        assert tab.locator("[data-testid='stExpander'] details[open]").count() == 0
        train = tab.get_by_role("button", name="Train", exact=True)
        assert train.bounding_box()["y"] + train.bounding_box()["height"] <= PROJECTOR[1]

        train.click()
        loss = tab.locator("[data-testid='stVegaLiteChart'][aria-label*='Loss']").first
        loss.wait_for(timeout=60_000)
        tab.wait_for_timeout(500)
        # the chart (title, legend, the curve itself) is on screen; at most its x axis may be below the fold
        box = loss.bounding_box()
        on_screen = (PROJECTOR[1] - box["y"]) / box["height"]
        assert on_screen >= 0.75, f"the loss chart spans {box['y']:.0f}..{box['y'] + box['height']:.0f} px"
        assert _px(tab, "[data-testid='stMetricValue']") >= 40
        assert "present=1" in tab.url  # bookmarkable: the address keeps the mode

        # stopped: the results (samples, score field, movie) fit at every size too, in large type
        tab.get_by_role("button", name="Stop", exact=True).click()
        tab.locator("[data-testid='stVegaLiteChart'][aria-label*='samples vs the training data']").wait_for(
            timeout=120_000)
        wait_for_app(tab)
        problems = []
        for size in [PROJECTOR] + RESIZED + [PHONE]:
            problems += _problems(tab, size)
        assert not problems, "\n".join(problems)

        # one chart full screen (Streamlit's element toolbar): it takes the whole window's width
        tab.set_viewport_size({"width": PROJECTOR[0], "height": PROJECTOR[1]})
        samples = tab.locator("[data-testid='stVegaLiteChart'][aria-label*='samples vs the training data']").first
        samples.scroll_into_view_if_needed()
        samples.hover()
        tab.locator("button[aria-label^='Fullscreen'][aria-label*='samples vs the training data']").first.click()
        tab.wait_for_timeout(1000)
        canvas = samples.locator(":is(canvas, svg.marks)").first
        assert canvas.bounding_box()["width"] >= 0.9 * PROJECTOR[0]
    finally:
        context.close()


def test_the_switch_turns_presentation_mode_off_and_on(app_server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    try:
        _open(tab, app_server.url + "/")
        normal = _px(tab, "html")
        switch = tab.get_by_role("switch", name="Presentation mode")
        switch.click(force=True)
        wait_for_app(tab)
        assert _px(tab, "html") >= 20 > normal
        assert "present=1" in tab.url
        # the sidebar has collapsed; open it and go to another page: the mode belongs to the session
        tab.locator("[data-testid='stExpandSidebarButton']").click()
        tab.locator("[data-testid='stSidebarNavLink']", has_text="Score lab").click()
        wait_for_app(tab)
        assert _px(tab, "html") >= 20 and "present=1" in tab.url
        tab.get_by_role("switch", name="Presentation mode").click(force=True)
        wait_for_app(tab)
        assert _px(tab, "html") == normal and "present" not in tab.url
    finally:
        context.close()
