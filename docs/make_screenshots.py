"""Screenshots of every page for the README and docs/: presentation mode at 1024×768 (a projector), and the
normal view at 1400×1000 with the sidebar open.

    DC_FLUX_MODEL=tiny .venv/bin/streamlit run app/main.py --server.port 8571 &
    .venv/bin/python docs/make_screenshots.py http://127.0.0.1:8571

Writes docs/present_<page>.png and docs/<page>.png (what is on screen, above the fold),
palette-reduced to stay small. The Score lab is shot a few hundred steps into a training run, with
Train, the numbers and the loss chart.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, wait_for_app  # noqa: E402
from tests.browser.test_layout_browser import PAGES, PROJECTOR  # noqa: E402


def save_small(png: bytes, path: Path) -> None:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


NORMAL = (1400, 1000)


def main(url: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for path, present in [(path, present) for present in (True, False) for path in PAGES]:
            size = PROJECTOR if present else NORMAL
            tab = browser.new_page(viewport={"width": size[0], "height": size[1]})
            tab.goto(f"{url}/{path}" + ("?present=1" if present else ""))
            wait_for_app(tab, timeout_ms=120_000)
            if path == "score_lab":  # a few hundred steps into a run: the loss is falling
                tab.get_by_role("button", name="Train", exact=True).click()
                tab.wait_for_function("""() => [...document.querySelectorAll("[data-testid='stMetricValue']")]
                    .some(m => parseInt(m.innerText.replace(/,/g, "")) >= 400)""", timeout=120_000)
            # until every widget and chart has drawn (no loading placeholders left)
            tab.wait_for_function("() => !document.querySelector(\"[data-testid='stSkeleton']\")", timeout=60_000)
            tab.wait_for_timeout(2000)
            out = ROOT / "docs" / f"{'present_' if present else ''}{path or 'home'}.png"
            save_small(tab.screenshot(), out)
            print(out.relative_to(ROOT), f"{out.stat().st_size / 1024:.0f} KB")
            tab.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8571")
