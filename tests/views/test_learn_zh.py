"""Learn in 简体中文 (issue 15 item 11): no English words inside the formulas or the walkthrough."""

from streamlit.testing.v1 import AppTest

from qviz.ui import i18n
from qviz_dev.app_pages import APP


def learn(lang: str, **settings) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = lang
    for name, value in settings.items():
        at.session_state[f"learn_{name}"] = value
    at.run()
    assert not at.exception
    return at


def formulas(at: AppTest) -> str:
    return "\n".join(latex.value for latex in at.latex)


def test_int_formula_words_are_translated():
    zh = formulas(learn("zh"))  # default: int8 symmetric signed
    assert r"\text{对称，有符号}" in zh and "symmetric, signed" not in zh
    assert "symmetric, signed" in formulas(learn("en"))


def test_float_formula_words_are_translated():
    zh = formulas(learn("zh", scheme="float"))
    assert r"\text{最近的量化级}" in zh and "nearest level" not in zh
    assert r"\text{编码}" in zh or "code" not in formulas(learn("en", scheme="float"))


def test_the_walkthrough_line_is_translated():
    at = learn("zh")
    lines = [e.value for e in at.text]
    assert any("行输入" in line for line in lines) and not any("input rows" in line for line in lines)
    assert i18n.translate("io_layer_line", "zh", op="Gemm", shape=(10, 64), rows=200) == "Gemm (10, 64) · 200 行输入"
