"""The Learn page, driven through streamlit.testing.v1.AppTest: widgets in, numbers out."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from qviz.ui import i18n
from qviz_dev.app_pages import APP


def new_app(lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["lang"] = lang
    return at.run()


def metric(at: AppTest, key: str) -> str:
    """The shown value of the metric labelled t(key) (in whichever language is shown)."""
    labels = {i18n.translate(key, lang) for lang in i18n.LANGUAGES}
    return next(m.value for m in at.metric if m.label in labels)


def sqnr(at: AppTest) -> float:
    return float(metric(at, "metric_sqnr").split()[0])


def all_text(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "caption", "markdown", "info", "subheader", "error") for e in at.get(kind)]
    parts += [m.label for m in at.metric] + [w.label for w in at.selectbox] + [w.label for w in at.slider]
    parts += [w.label for w in at.checkbox] + [w.label for w in at.button]
    parts += [opt for w in at.selectbox for opt in w.options]
    return "\n".join(map(str, parts))


def set_and_run(at: AppTest, kind: str, name: str, value) -> AppTest:
    getattr(at, kind)(key=f"learn_{name}").set_value(value)
    return at.run()


@pytest.mark.parametrize("lang", list(i18n.LANGUAGES))
def test_page_renders_in_every_language_without_missing_keys(lang):
    at = new_app(lang)
    assert not at.exception
    assert at.title[0].value == i18n.translate("learn_title", lang)
    assert len(at.get("plotly_chart")) == 3 and len(at.latex) >= 5
    assert "[[" not in all_text(at)


def test_language_switch_in_the_sidebar():
    at = new_app()
    at.selectbox(key="lang").set_value("zh").run()
    assert not at.exception and at.title[0].value == i18n.translate("learn_title", "zh")
    assert sqnr(at) > 0


def test_more_bits_more_sqnr():
    at = new_app()
    at8 = sqnr(at)
    at4 = sqnr(set_and_run(at, "slider", "bits", 4))
    assert at8 > at4 + 18  # about 6 dB per bit


@pytest.mark.parametrize(
    "kind, name, value",
    [
        ("selectbox", "distribution", "laplace"),
        ("selectbox", "rounding", "trunc"),
        ("selectbox", "estimator", "mse"),
        ("selectbox", "granularity", "channel"),
        ("selectbox", "scheme", "kmeans"),
        ("selectbox", "scheme", "float"),
        ("selectbox", "scheme", "log"),
        ("selectbox", "scheme", "fixed_point"),
    ],
    ids=lambda v: str(v),
)
def test_each_control_changes_the_numbers(kind, name, value):
    at = new_app()
    at.slider(key="learn_bits").set_value(4).run()
    before = metric(at, "metric_mse")
    set_and_run(at, kind, name, value)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert metric(at, "metric_mse") != before
    assert len(at.get("plotly_chart")) >= 1


def test_worked_example_replays_code_191():
    at = new_app()
    at.button(key="example_code191").click().run()
    assert not at.exception
    assert metric(at, "metric_zero_point") == "127"
    assert any(r"&= 191\end{aligned}" in latex.value for latex in at.latex)
    assert 191 in at.dataframe[0].value.iloc[:, 1].tolist()
    assert i18n.translate("ex_code191_text", "en") in at.info[0].value
    at.button(key="example_code191_compare").click().run()  # symmetric int8: 0.5 -> 64
    zero_points = [m.value for m in at.metric if m.label in i18n.TEXT["metric_zero_point"].values()]
    assert zero_points == ["127", "0"]  # side by side: the example, then the comparison
    assert any(r"&= 64\end{aligned}" in latex.value for latex in at.latex)


def test_percentile_rescues_the_outlier_tensor():
    at = new_app()
    at.button(key="example_outliers").click().run()
    minmax, clipped = sqnr(at), float(metric(at, "metric_clipped").rstrip("%"))
    set_and_run(at, "selectbox", "estimator", "percentile")
    set_and_run(at, "slider", "percentile", 99.0)
    assert sqnr(at) > minmax + 3
    assert float(metric(at, "metric_clipped").rstrip("%")) > clipped + 0.5
    assert at.session_state["learn_example"] is None  # a changed widget leaves the example


def test_typed_values_parse_and_bad_values_give_a_message():
    at = new_app()
    at.radio(key="learn_source").set_value("typed").run()
    set_and_run(at, "text_area", "values", "0.1, -0.2, 0.3, 2")
    assert not at.exception and not at.error
    assert at.dataframe[0].value.iloc[:, 0].tolist() == pytest.approx([0.1, -0.2, 0.3, 2.0])
    set_and_run(at, "text_area", "values", "0.1, zwei, 3")
    assert not at.exception
    assert "'zwei'" in shown(at.error[0].value) and "Traceback" not in at.error[0].value


def shown(markdown: str) -> str:
    """The text a reader sees of escaped Markdown (the page escapes every message: qviz.ui.messages)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_impossible_combination_is_a_short_error():
    at = new_app()
    set_and_run(at, "checkbox", "symmetric", False)
    set_and_run(at, "checkbox", "restricted_range", True)
    assert not at.exception
    assert "restricted_range" in shown(at.error[0].value)
    set_and_run(at, "selectbox", "granularity", "group")
    set_and_run(at, "number_input", "group_size", 100)
    set_and_run(at, "checkbox", "restricted_range", False)
    assert "group_size must divide the length of axis 1 (256)" in shown(at.error[0].value)


def test_formula_follows_the_chosen_value():
    at = new_app()
    set_and_run(at, "number_input", "value", 1.0)
    first = [latex.value for latex in at.latex]
    set_and_run(at, "number_input", "value", -0.25)
    assert not at.exception and [latex.value for latex in at.latex] != first
    assert "-0.25" in at.markdown[-1].value or "-0.25" in " ".join(latex.value for latex in at.latex)


def test_histogram_is_binned_not_raw_points():
    at = new_app()
    at.select_slider(key="learn_n").set_value(65536).run()
    assert not at.exception
    spec_bytes = sum(len(chart.proto.spec) for chart in at.get("plotly_chart"))
    assert spec_bytes < 200_000


@pytest.mark.parametrize(
    "values, scheme",
    [
        ("0", "int"),
        ("0, 0, 0", "kmeans"),
        ("5", "fixed_point"),
        ("-3", "log"),
        ("1e30, -1e30", "float"),
        ("1e-30, 2e-30", "int"),
    ],
    ids=["zero-int", "zeros-kmeans", "one-value-fixed", "negative-log", "huge-float", "tiny-int"],
)
def test_edge_values_render_without_exception(values, scheme):
    at = AppTest.from_file(APP, default_timeout=30)
    for name, value in {"source": "typed", "values": values, "scheme": scheme, "bits": 4}.items():
        at.session_state[f"learn_{name}"] = value
    at.run()
    assert not at.exception and not at.error
    assert metric(at, "metric_sqnr").endswith("dB")


def test_kmeans_offers_no_rounding_and_draws_no_clipping_thresholds():
    """Issue 15, item 3: k-means takes the nearest level: no rounding selector, nothing clipped."""
    at = AppTest.from_file(APP, default_timeout=30)
    for name, value in {"source": "typed", "values": "0, 0, 0, 0.5, 1, 2, 3, 0", "scheme": "kmeans", "bits": 2}.items():
        at.session_state[f"learn_{name}"] = value
    at.run()
    assert not at.exception and not at.error
    assert "learn_rounding" not in [s.key for s in at.selectbox]
    assert metric(at, "metric_clipped").startswith("0")
