"""The output-kind form (qviz.ui.output_kind_form): shows what auto decided, and a choice changes how
every evaluation compares the outputs; it outlives a visit to a page without the form."""

from __future__ import annotations

import pytest

from qviz.config import PRESETS
from qviz.ui import i18n
from qviz_dev.app_pages import labels, metric, open_page, texts

STATE = {"model_source": {"kind": "sample", "id": "digits_mlp"}, "model_config": PRESETS["w8a8"].to_json()}


def _select(at, key: str, value):
    at.selectbox(key=key).set_value(value)
    return at.run()


@pytest.mark.parametrize("lang", list(i18n.LANGUAGES))
def test_auto_is_shown_with_what_it_decided(lang):
    at = open_page("qviz/views/tune.py", lang, STATE)
    assert not at.exception and not at.error
    kl = i18n.translate("tn_kl_softmax", lang)
    line = i18n.translate("tn_measure_classes", lang, name="logits", axis=1, positions="", kl=kl)
    assert any(c.startswith(i18n.translate("ok_detected", lang)) and line in c for c in texts(at, ("caption",)))


def test_values_turns_the_headline_into_cosine_and_stays_after_another_page():
    at = open_page("qviz/views/tune.py", "en", STATE)
    assert metric(at, "tn_accuracy")
    at = _select(at, "output_kind_kind", "values")
    assert not at.exception and not at.error
    assert i18n.translate("tn_measure_values", "en", name="logits") in texts(at, ("caption",))
    assert metric(at, "tn_cosine") and not [m for m in at.metric if m.label in labels("tn_accuracy")]
    assert at.session_state["output_kind"] == "values"
    at.switch_page("qviz/views/model.py")
    at.run()
    at.switch_page("qviz/views/tune.py")
    at.run()
    assert at.selectbox(key="output_kind_kind").value == "values" and metric(at, "tn_cosine")


def test_classes_on_an_axis_the_output_lacks_is_an_error_not_a_traceback():
    at = open_page("qviz/views/tune.py", "en", STATE)
    at = _select(at, "output_kind_kind", "classes")
    at = _select(at, "output_kind_axis", 3)
    assert not at.exception
    assert at.session_state["output_kind"] == "classes:3"
    assert at.error and "axis" in at.error[0].value
