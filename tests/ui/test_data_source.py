"""Where the scores come from, in the page's language (issue 15 item 11: "(sample digits_cnn (test))")."""

import pytest
from streamlit.testing.v1 import AppTest


def shown(source: str, lang: str) -> str:
    def script(source, lang):
        import streamlit as st

        from qviz.ui.data_source import data_source_text

        st.session_state["lang"] = lang
        st.text(data_source_text(source))

    return AppTest.from_function(script, args=(source, lang)).run().text[0].value


@pytest.mark.parametrize(
    "source, lang, text",
    [
        ("sample digits_cnn (test)", "zh", "示例 digits_cnn（测试集）"),
        ("sample digits_cnn (test), first 64", "zh", "示例 digits_cnn（测试集），前 64 个"),
        ("sample digits_cnn (calibration)", "en", "sample digits_cnn (calibration)"),
        ("generated (seed 0, n 64)", "zh", "生成的输入（seed 0, n 64）"),
        ("npz", "zh", "npz"),
    ],
)
def test_sources_are_translated(source, lang, text):
    assert shown(source, lang) == text
