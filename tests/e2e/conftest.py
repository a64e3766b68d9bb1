"""Real-browser fixtures: the app served by `streamlit run`, driven by Debian's Chromium (qviz_dev.browser).

# NOTE: never a downloaded browser build: Playwright drives the system binary. Without it the
# tests skip locally, but fail under CI (CI=true), where `make test` installs it.
"""

from __future__ import annotations

import os

import pytest

from qviz_dev.browser import ACTION_MS, CHROMIUM, CHROMIUM_ARGS, serve_app


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    with (tmp_path_factory.mktemp("streamlit") / "server.log").open("w") as log, serve_app(log) as (url, _):
        yield url


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing under CI: `make test` should have installed Debian's chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(ACTION_MS)
    yield pg
    context.close()
