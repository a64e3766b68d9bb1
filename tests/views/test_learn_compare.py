"""Learn's "Compare" shows both settings of a worked example side by side (issue 15 item 13), and a
change that rounds to 0 has no delta (no green arrow on "+0.00%")."""

import pytest
from streamlit.testing.v1 import AppTest

from qviz.lessons import run_lesson
from qviz.ui import i18n
from qviz.ui.learn import example_settings
from qviz_dev.app_pages import APP


def compared(key: str, lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["lang"] = lang
    at.run()
    at.button(key=f"example_{key}_compare").click().run()
    assert not at.exception
    return at


def shown(at: AppTest, key: str) -> list:
    labels = {i18n.translate(key, lang) for lang in i18n.LANGUAGES}
    return [m for m in at.metric if m.label in labels]


@pytest.mark.parametrize("key", ["truncation", "outliers"])
def test_compare_shows_both_settings_with_their_own_numbers(key):
    at = compared(key)
    expected = [run_lesson(example_settings(key, variant)).sqnr_db for variant in ("settings", "compare")]
    sqnr = shown(at, "metric_sqnr")
    assert [m.value for m in sqnr] == [f"{v:.2f} dB" for v in expected]
    assert sqnr[0].delta in ("", None)  # the left side is the reference
    assert sqnr[1].delta == f"{expected[1] - expected[0]:+.2f} dB"
    assert len(at.get("plotly_chart")) == 4  # two histograms side by side + the two curves


def test_a_change_that_rounds_to_zero_has_no_delta():
    at = compared("code191")  # -1, 0.5, 1 in int8: the same fraction is clipped on both sides
    clipped = shown(at, "metric_clipped")
    assert clipped[0].value == clipped[1].value
    assert clipped[1].delta in ("", None)  # was "+0.00%" with a green arrow


def test_changing_a_widget_leaves_the_comparison():
    at = compared("truncation")
    at.slider(key="learn_bits").set_value(6).run()
    assert len(shown(at, "metric_sqnr")) == 1  # the widgets no longer are the example's: one view
