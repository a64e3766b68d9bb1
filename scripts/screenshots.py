"""Screenshots of every page for the README: docs/screenshots/<page>.png (1400 px wide, < 300 KB each).

    python scripts/screenshots.py

Serves the app with `streamlit run` and drives Debian's Chromium with Playwright, the same way
as the browser tests (qviz_dev/browser.py). One session on the default sample: a few presets
are applied on Tune (so Trade-offs has points) and a sweep is run before the Sensitivity shot.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # qviz_dev

from qviz_dev.browser import CHROMIUM, CHROMIUM_ARGS, choose, go, open_app, serve_app, wait_idle  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
MAX_BYTES = 300 * 1024
VIEWPORT = {"width": 1400, "height": 900}


def shot(page, name: str) -> None:
    page.mouse.move(0, 0)
    page.wait_for_timeout(1500)  # plotly draws after the script run ends
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path))
    size = path.stat().st_size
    print(f"{path.relative_to(ROOT)}: {size / 1024:.0f} KiB", "(TOO BIG)" if size > MAX_BYTES else "")


def tour(page, url: str) -> None:
    open_app(page, url)
    shot(page, "learn")
    go(page, "Model")
    shot(page, "model")
    go(page, "Layer")
    shot(page, "layer")
    go(page, "Tune")
    for preset in ("w4g32", "w8", "fp16", "w4a8", "w8a8"):
        choose(page, "Preset", preset)
        page.get_by_role("button", name="Apply preset").click()
        wait_idle(page)
    shot(page, "tune")
    go(page, "Sensitivity")
    page.get_by_role("button", name="Run the sweep").click()
    page.get_by_text("Sweep done").first.wait_for()
    page.get_by_text("Sweep done").first.scroll_into_view_if_needed()
    shot(page, "sensitivity")
    go(page, "Trade-offs")
    shot(page, "tradeoffs")
    go(page, "Export")
    shot(page, "export")


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with serve_app() as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.set_default_timeout(60_000)
        tour(page, url)
        browser.close()


if __name__ == "__main__":
    main()
