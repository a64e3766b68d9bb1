"""The Learn page in a real browser: it renders, a worked example replays, the language switches."""

from __future__ import annotations

import pytest

from qviz_dev.browser import metric_value, open_app, wait_idle


@pytest.mark.slow
def test_learn_page_replays_the_code_191_example(page, app_url):
    open_app(page, app_url)
    page.get_by_text("Learn: quantize one tensor").first.wait_for()
    sqnr_before = metric_value(page, "SQNR")
    assert sqnr_before.endswith("dB")

    page.get_by_text("Worked examples").first.click()
    page.get_by_role("button", name="Replay").first.click()
    wait_idle(page)
    page.get_by_text("code q = 191").first.wait_for()
    assert metric_value(page, "Zero point") == "127"


@pytest.mark.slow
def test_language_switch_to_chinese(page, app_url):
    open_app(page, app_url)
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="简体中文").click()
    wait_idle(page)
    page.get_by_text("学习：量化一个张量").first.wait_for()
