"""Every page at real screen sizes, presentation mode, and no request leaving the server.

Sizes: 1024×768 with the sidebar open (a projector), 853×533 (1280×800 zoomed to 150 % for the back
row), 1920×1080, and 390×844 (a phone). On every page in the navigation (read from app/main.py, so a
new page is covered without touching this file): no chart, table, image or equation reaches past the
box it is drawn in (its column, or the main column), no equation, table or data frame scrolls
sideways (on a projector that part is simply not there), no column of text wraps a word or two a
line, and no button label, metric label, value or delta is cut off (layout_probe.js).

Then the pages as a class uses them, with results on them, at 1024×768 and 853×533, with and without
?present=1: the Score lab's Train on the first screen, its "How it works" box readable when opened,
while presenting its live samples beside the loss chart on one screen, after training its results and
the trajectory player (Play and the picture on one screen); the samplers page's results table and
one-step table; How FLUX samples trained, with its reflow and guidance tables.

Cost: one browser tab for the pages before training, each page loaded once at 1024×768 and then
resized; a tab per trained page (short runs: a few hundred steps, or Stop after a few seconds).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import ROOT, assert_no_exception, wait_for_app

pytestmark = pytest.mark.browser

PROJECTOR = (1024, 768)
ZOOMED = (853, 533)                    # 1280×800 at 150 %
RESIZED = [ZOOMED, (1920, 1080)]       # the same tab resized: the sidebar stays open
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
    assert icons and all(urlsplit(i).netloc == own or i.startswith("data:") for i in icons), icons


# ----------------------------------------------------------------------------- presentation mode

# the font size of every paragraph of body text in the main column (not captions, labels or buttons)
BODY_TEXT_SIZES = """() => [...document.querySelectorAll("[data-testid='stMain'] [data-testid='stMarkdownContainer'] p")]
  .filter(p => !p.closest("[data-testid='stCaptionContainer'], button, summary, label, [data-testid='stMetric']"))
  .map(p => parseFloat(getComputedStyle(p).fontSize))"""


def _px(page, selector: str, prop: str = "font-size") -> float:
    value = page.locator(selector).first.evaluate(f"e => getComputedStyle(e).getPropertyValue('{prop}')")
    return float(value.removesuffix("px"))


def test_presentation_mode_puts_train_the_loss_and_the_live_samples_on_one_screen(app_server, browser):
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
        samples = tab.locator("[data-testid='stVegaLiteChart'][aria-label^='Live samples']").first
        samples.wait_for(timeout=60_000)
        tab.wait_for_timeout(1000)
        # the loss chart, axis and all, and the live samples beside it, on the first screen with Train
        for chart in (loss, samples):
            box = chart.bounding_box()
            assert box["y"] + box["height"] <= PROJECTOR[1], (
                f"{chart.get_attribute('aria-label')} spans {box['y']:.0f}..{box['y'] + box['height']:.0f} px")
        assert abs(loss.bounding_box()["y"] - samples.bounding_box()["y"]) <= 2  # side by side
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
        tab.set_viewport_size({"width": ZOOMED[0], "height": ZOOMED[1]})
        _player_on_one_screen(tab)
        tab.get_by_role("tab", name="Score field").click()

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


# ----------------------------------------------------------------------------- pages with results on them

MODES = [False, True]
MODE_IDS = ["normal", "present"]


def _tab(browser, size):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    return context, context.new_page()


def _url(app_server, path: str, present: bool) -> str:
    return f"{app_server.url}/{path}" + ("?present=1" if present else "")


def _visible_height(tab) -> float:
    """The window's height below Streamlit's header bar (what a student sees of the page at once)."""
    header = tab.locator("[data-testid='stHeader']").bounding_box()
    return tab.viewport_size["height"] - (header["y"] + header["height"] if header else 0)


def _span(*locators) -> tuple[float, float]:
    boxes = [loc.bounding_box() for loc in locators]
    assert all(boxes), "an element is not drawn"
    return min(b["y"] for b in boxes), max(b["y"] + b["height"] for b in boxes)


def _fits_one_screen(tab, *locators) -> None:
    """The elements, scrolled to, are all on one screen at once."""
    locators[0].scroll_into_view_if_needed()
    top, bottom = _span(*locators)
    assert bottom - top <= _visible_height(tab), (
        f"{tab.viewport_size}: the elements span {top:.0f}..{bottom:.0f} px, more than one screen "
        f"({_visible_height(tab):.0f} px below the header)")


def _all_sizes(tab, sizes) -> list[str]:
    problems = []
    for size in sizes:
        problems += _problems(tab, size)
    return problems


@pytest.mark.parametrize("present", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("size", [PROJECTOR, ZOOMED], ids=["1024x768", "853x533"])
def test_score_lab_train_is_on_the_first_screen_and_how_it_works_reads_when_opened(app_server, browser,
                                                                                     size, present):
    context, tab = _tab(browser, size)
    try:
        _open(tab, _url(app_server, "score_lab", present))
        assert tab.locator("[data-testid='stExpander'] details[open]").count() == 0  # it starts closed
        train = tab.get_by_role("button", name="Train", exact=True)
        box = train.bounding_box()
        assert box["y"] + box["height"] <= size[1], f"Train ends at {box['y'] + box['height']:.0f} px"
        # opened: the maths and what to notice read at the column's width (no equation scrolls sideways,
        # no side column wrapped a word a line)
        tab.locator("[data-testid='stExpander'] summary", has_text="How it works").click()
        tab.locator("[data-testid='stExpander'] details[open] .katex-display").first.wait_for()
        problems = _problems(tab, size)
        assert not problems, "\n".join(problems)
    finally:
        context.close()


@pytest.mark.parametrize("present", MODES, ids=MODE_IDS)
def test_the_flow_pages_box_reads_when_opened(app_server, browser, present):
    context, tab = _tab(browser, PROJECTOR)
    try:
        _open(tab, _url(app_server, "how_flux_samples", present))
        tab.locator("[data-testid='stExpander'] summary", has_text="Flow matching in one screen").click()
        tab.locator("[data-testid='stExpander'] details[open] .katex-display").first.wait_for()
        problems = _all_sizes(tab, [PROJECTOR, ZOOMED])
        assert not problems, "\n".join(problems)
    finally:
        context.close()


def _train_the_score_lab_briefly(tab) -> None:
    """Train, a few hundred steps, Stop: the results (samples, score field, the player) are drawn."""
    tab.get_by_role("button", name="Train", exact=True).click()
    tab.wait_for_function("""() => [...document.querySelectorAll("[data-testid='stMetricValue']")]
        .some(m => parseInt(m.innerText.replace(/,/g, "")) >= 300)""", timeout=120_000)
    tab.get_by_role("button", name="Stop", exact=True).click()
    tab.locator("[data-testid='stVegaLiteChart'][aria-label*='samples vs the training data']").wait_for(
        timeout=120_000)
    wait_for_app(tab)


def _player_on_one_screen(tab) -> None:
    """The "Sampling, step by step" tab: Play and the picture on one screen; the GIF a download only."""
    tab.get_by_role("tab", name="Sampling, step by step").click()
    player = tab.locator("[class*='st-key-sl_player_']").first
    player.wait_for()
    tab.wait_for_timeout(1000)
    play = player.get_by_role("button", name="Play")
    picture = player.locator("[data-testid='stVegaLiteChart']").first
    _fits_one_screen(tab, play, picture)
    # no second movie looping beside it on its own clock: the GIF is a download
    assert tab.locator("[data-testid='stTabs'] [data-testid='stImage']").count() == 0
    assert player.get_by_role("button", name="GIF").count() == 1
    with tab.expect_download(timeout=60_000) as download:  # drawn only now, when it is asked for
        player.get_by_role("button", name="GIF").click()
    assert Path(download.value.path()).read_bytes()[:6] == b"GIF89a"
    # playing, the button reads Pause: whole, on one line, at this size too
    play.click()
    pause = player.get_by_role("button", name="Pause")
    pause.wait_for(timeout=10_000)
    size = (tab.viewport_size["width"], tab.viewport_size["height"])
    problems = _problems(tab, size, settle_s=1.0)
    for _ in range(3):  # a click that lands while the playing fragment redraws the button can be lost
        pause.click()
        try:
            player.get_by_role("button", name="Play").wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    wait_for_app(tab)
    assert not problems, "\n".join(problems)


def test_the_trained_score_lab_fits_and_its_player_is_on_one_screen(app_server, browser):
    context, tab = _tab(browser, PROJECTOR)
    try:
        _open(tab, _url(app_server, "score_lab", False))
        _train_the_score_lab_briefly(tab)
        problems = _all_sizes(tab, [PROJECTOR, ZOOMED, (1920, 1080)])
        assert not problems, "\n".join(problems)
        tab.set_viewport_size({"width": ZOOMED[0], "height": ZOOMED[1]})
        _player_on_one_screen(tab)
        problems = _all_sizes(tab, [ZOOMED, PROJECTOR])
        assert not problems, "\n".join(problems)
    finally:
        context.close()


@pytest.mark.parametrize("present", MODES, ids=MODE_IDS)
def test_the_samplers_tables_and_equations_show_every_column(app_server, browser, present):
    context, tab = _tab(browser, PROJECTOR)
    try:
        _open(tab, _url(app_server, "samplers", present))
        tab.get_by_role("button", name="Run every sampler").click()
        # the results table (within-mode std, energy distance ÷ floor) above the one-step table
        tab.locator("[data-testid='stTable']").nth(1).wait_for(timeout=240_000)
        wait_for_app(tab)
        headers = tab.locator("[data-testid='stTable']").first.inner_text()
        assert "within-mode std" in headers and "floor" in headers
        problems = _all_sizes(tab, [PROJECTOR, ZOOMED, (1920, 1080)])
        assert not problems, "\n".join(problems)
    finally:
        context.close()


def test_how_flux_samples_trained_shows_every_section_and_table(app_server, browser):
    context, tab = _tab(browser, PROJECTOR)
    try:
        _open(tab, _url(app_server, "how_flux_samples", False))
        for key, steps in (("fx_steps", 400), ("fx_guided_steps", 400)):
            field = tab.locator(f".st-key-{key} input")
            field.fill(str(steps))
            field.press("Enter")
            wait_for_app(tab)
        tab.locator(".st-key-fx_train").get_by_role("button").click()
        tab.locator("[data-testid='stHeading']", has_text="How many steps").wait_for(timeout=240_000)
        wait_for_app(tab)
        tab.locator(".st-key-fx_reflow").get_by_role("button").click()
        tab.locator("[data-testid='stTable']", has_text="after reflow").wait_for(timeout=240_000)
        wait_for_app(tab)
        tab.locator(".st-key-fx_guided_train").get_by_role("button").click()
        tab.locator("[data-testid='stTable']", has_text="mean's offset").wait_for(timeout=240_000)
        wait_for_app(tab)
        problems = _all_sizes(tab, [PROJECTOR, ZOOMED])
        # the same flows presenting: the address names them, so a reload with ?present=1 finds them
        _open(tab, tab.url + "&present=1" if "?" in tab.url else tab.url + "?present=1")
        tab.locator("[data-testid='stTable']", has_text="mean's offset").wait_for(timeout=60_000)
        problems += _all_sizes(tab, [PROJECTOR, ZOOMED])
        assert not problems, "\n".join(problems)
    finally:
        context.close()


# ----------------------------------------------------------------------------- the gallery and the canvas

SCRATCH_TEXT = "a red fox asleep in the snow, woodcut"


@pytest.fixture
def gallery_images(app_server, lesson_file):
    """Stored 256-px demo images (what the demo pipeline draws) for the lesson's first five prompts and for
    one scratch prompt: the page shows them without generating anything."""
    import tomllib

    from PIL import Image

    from models.flux.params import GenerationParams
    from models.flux.store import ImageStore
    from models.flux.tiny import TINY_MODEL_ID, TINY_REVISION

    store = ImageStore(app_server.output_dir)
    data = tomllib.loads(lesson_file.read_text(encoding="utf-8"))
    prompts = [p for s in data["sections"] for p in s.get("prompts", [])][:5]
    made = [(GenerationParams(prompt=p["text"], seed=p["seed"], model_id=TINY_MODEL_ID, revision=TINY_REVISION),
             p["id"]) for p in prompts]
    made.append((GenerationParams(prompt=SCRATCH_TEXT, seed=7, model_id=TINY_MODEL_ID, revision=TINY_REVISION),
                 "scratch"))
    paths = [store.save(Image.new("RGB", (256, 256), (40 * k % 255, 120, 200)), params,
                        extra={"prompt_id": pid, "is_demo": True, "rendered_size": [256, 256]})
             for k, (params, pid) in enumerate(made)]
    yield [pid for _, pid in made[:-1]]
    for path in paths:
        store.delete(path)


@pytest.mark.parametrize("present", MODES, ids=MODE_IDS)
def test_the_gallery_has_a_contact_sheet_whole_ids_and_a_scratch_image_at_its_own_size(
        app_server, browser, gallery_images, present):
    context, tab = _tab(browser, PROJECTOR)
    try:
        _open(tab, _url(app_server, "gallery", present))
        # several images a row at 1024×768 (a 320-px tile a row beside the sidebar is one image a screen)
        sheet = tab.locator(".st-key-gallery_sheet [data-testid='stImage'] img")
        # the sheet's images arrive one by one: wait for as many as there are (a loaded machine drew 4 of 5
        # by the time the first was there), then count them exactly
        tab.wait_for_function("([selector, n]) => document.querySelectorAll(selector).length >= n",
                              arg=[".st-key-gallery_sheet [data-testid='stImage'] img", len(gallery_images)],
                              timeout=30_000)
        assert sheet.count() == len(gallery_images)
        tops = [round(sheet.nth(i).bounding_box()["y"]) for i in range(sheet.count())]
        assert tops.count(tops[0]) >= 3, f"the contact sheet's first row holds {tops.count(tops[0])} images"
        # the compare pickers show whole ids, the longest choice included
        tab.locator("[data-testid='stExpander'] summary", has_text="Compare two prompts").click()
        wait_for_app(tab)
        for attempt in range(3):  # a rerun while the list is open (another test's job ending) redraws it
            try:
                tab.locator(".st-key-gallery_pair_left").click()
                tab.keyboard.type("English translation")  # the list shows a few options at a time: filter it
                tab.get_by_role("option", name="pastoral-holiday-mixed-script · English translation").click(
                    timeout=10_000)
                break
            except Exception:  # playwright: a detached option or a timeout
                if attempt == 2:
                    raise
                tab.keyboard.press("Escape")
                wait_for_app(tab)
        wait_for_app(tab)
        # the scratch prompt's image (256 px, as the demo draws) is not blown up past its pixels
        tab.locator("[data-testid='stExpander'] summary", has_text="Scratch prompt").click()
        tab.locator(".st-key-scratch_text textarea").fill(SCRATCH_TEXT)
        seed = tab.locator(".st-key-scratch_seed input")
        seed.fill("7")
        seed.press("Enter")
        wait_for_app(tab)
        tab.locator(".st-key-scratch_go button").click()
        wait_for_app(tab)
        picture = tab.locator("[data-testid='stExpander']", has_text="Scratch prompt").locator(
            "[data-testid='stImage'] img").first
        picture.wait_for(timeout=30_000)
        drawn, pixels = picture.evaluate("img => [img.getBoundingClientRect().width, img.naturalWidth]")
        assert pixels == 256 and drawn <= pixels + 1, f"a {pixels}-px picture drawn {drawn:.0f} px wide"
        problems = _all_sizes(tab, [PROJECTOR, ZOOMED, (1920, 1080)])
        assert not problems, "\n".join(problems)
    finally:
        context.close()


@pytest.mark.parametrize("present", MODES, ids=MODE_IDS)
def test_the_canvas_toolbar_leaves_the_pen_choice_clickable(app_server, browser, present):
    context, tab = _tab(browser, PROJECTOR)
    try:
        _open(tab, _url(app_server, "score_lab", present))
        if present:  # the sidebar starts collapsed
            tab.locator("[data-testid='stExpandSidebarButton']").click()
        tab.locator("[data-testid='stSidebar'] label", has_text="your drawing").click()
        wait_for_app(tab)
        canvas = tab.locator(".st-key-sl_canvas")
        canvas.wait_for(timeout=30_000)
        canvas.scroll_into_view_if_needed()
        canvas.hover()  # the canvas's toolbar shows above its top edge
        tab.wait_for_timeout(800)
        choice = tab.locator(".st-key-sl_pen label", has_text="click points")
        box = choice.bounding_box()
        on_top = tab.evaluate("([x, y]) => !!document.elementFromPoint(x, y)?.closest('.st-key-sl_pen')",
                              [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
        assert on_top, "the canvas's toolbar covers the 'click points' choice"
        choice.click()
        wait_for_app(tab)
        assert tab.locator(".st-key-sl_pen input[type='radio']").nth(1).is_checked()
    finally:
        context.close()
