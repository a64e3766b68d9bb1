"""The HTML report writes numbers as a reader wants them (issue 15 item 12): no 6-decimal floats."""

import re

import pandas as pd

from qviz.plots.html_page import format_number, render_report


def test_table_and_summary_floats_are_rounded():
    df = pd.DataFrame({"layer": ["fc"], "weight SQNR (dB)": [34.712345678], "share": [0.0123456789]})
    text = render_report("t", {"SQNR": 38.070746525}, [], [("Layers", df)], None)
    assert "34.7<" in text and "0.0123<" in text and "38.1<" in text
    assert not re.search(r"\d\.\d{5,}", text)


def test_format_number_keeps_big_and_small_numbers_readable():
    assert format_number(1234567.8) == "1,234,568"
    assert format_number(-0.5) == "-0.5"
    assert format_number(float("nan")) == "—"
