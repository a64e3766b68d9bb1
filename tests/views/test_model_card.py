"""The Model page's summary agrees with the sample card (issue 15 item 10): the picker is empty
while an upload is loaded, parameters are the layers' weights and biases, the card's lesson shows."""

import pytest

from qviz.samples import load_sample
from qviz.ui import i18n
from qviz_dev.app_pages import by_label, metric, open_page, texts, tiny_model, upload


def test_the_sample_picker_is_empty_once_an_upload_is_loaded():
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "m.onnx", tiny_model())
    assert not at.exception and not at.error
    assert at.selectbox(key="model_sample_pick").value is None  # not the sample the upload replaced


@pytest.mark.parametrize("sample_id", ["digits_mobilenet", "digits_cnn"])
def test_parameters_are_the_layers_weights_and_biases_as_on_the_card(sample_id):
    state = {"model_source": {"kind": "sample", "id": sample_id}}
    at = open_page("qviz/views/model.py", state=state)
    assert metric(at, "sum_params") == f"{load_sample(sample_id).card['parameter_count']:,}"  # 67,002, not 67,028


def test_the_help_says_what_else_the_graph_stores():
    at = open_page("qviz/views/model.py")
    params = next(m for m in at.metric if m.label in {i18n.translate("sum_params", lang) for lang in i18n.LANGUAGES})
    assert "26" in params.help  # MobileNet's 13 Clips keep 26 scalar bounds: not parameters


@pytest.mark.parametrize("lang", list(i18n.LANGUAGES))
def test_the_sample_cards_lesson_is_on_the_model_page(lang):
    at = open_page("qviz/views/model.py", lang)
    lesson = load_sample("digits_mobilenet").card["lesson"][lang]
    assert any(lesson in s for s in texts(at))
    assert "300" in lesson


def test_sample_titles_are_translated():
    at = open_page("qviz/views/model.py", "zh")
    options = by_label(at.selectbox, "mp_sample").options
    assert "手写数字 MobileNetV2 风格（深度卷积，ReLU6）" in options
    assert not any("Digits" in o for o in options)


@pytest.mark.parametrize("page", ["qviz/views/model.py", "qviz/views/tradeoffs.py"])
def test_the_current_models_title_is_translated(page):
    at = open_page(page, "zh")
    assert "当前模型：手写数字 MobileNetV2 风格（深度卷积，ReLU6）" in texts(at, ("text",))
