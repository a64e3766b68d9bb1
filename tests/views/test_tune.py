"""The Tune page through AppTest: numbers shown equal qviz.evaluate.evaluate of the config the table made."""

import base64
from types import SimpleNamespace

import numpy as np
import pytest

from qviz.config import PRESETS, ModelConfig
from qviz.evaluate import evaluate, layer_errors, tuning
from qviz.ui import i18n, tune
from qviz_dev.app_pages import by_label, figure, labels, metric, open_page, texts

STATE = {"model_source": {"kind": "sample", "id": "digits_mlp"}}


def tune_page(lang="en", config: ModelConfig = PRESETS["w8a8"], extra: dict | None = None):
    return open_page("qviz/views/tune.py", lang, {**STATE, "model_config": config.to_json(), **(extra or {})})


def expected(mlp, config: ModelConfig):
    return evaluate(mlp.model, config, mlp.test_data, calib=mlp.calib)


def assert_shows(at, mlp, config: ModelConfig):
    ev = expected(mlp, config)
    assert metric(at, "tn_accuracy") == f"{ev.accuracy:.2%}"
    assert metric(at, "tn_size") == f"{ev.size.weight_bytes / 1024:.1f} KiB"
    assert metric(at, "tn_bpw") == f"{ev.size.bits_per_weight:.2f}"


@pytest.mark.parametrize("lang", list(i18n.LANGUAGES))
def test_page_shows_the_evaluation_and_error_bars(digits_mlp, lang):
    at = tune_page(lang)
    assert not at.exception and not at.error
    assert_shows(at, digits_mlp, PRESETS["w8a8"])
    local, propagated = (array(bar["y"]) for bar in figure(at, 0)["data"])
    errors = layer_errors(digits_mlp.model, PRESETS["w8a8"], digits_mlp.test_data, calib=digits_mlp.calib)
    np.testing.assert_allclose(local, errors["local_sqnr_db"], rtol=1e-6)
    np.testing.assert_allclose(propagated, errors["propagated_sqnr_db"], rtol=1e-6)
    assert at.dataframe[0].value["layer"].tolist() == digits_mlp.ids and "[[" not in "\n".join(texts(at))


def array(spec) -> np.ndarray:
    """A plotly 7 array (base64 {"dtype", "bdata"}) or a plain list, as numpy."""
    if isinstance(spec, dict):
        return np.frombuffer(base64.b64decode(spec["bdata"]), dtype=spec["dtype"])
    return np.asarray(spec, dtype=float)


def test_setting_one_layer_to_4_bits_changes_the_numbers_to_evaluates(digits_mlp):
    ids = digits_mlp.ids
    key = tune.tune_table_key(SimpleNamespace(sha256=digits_mlp.model.sha256), PRESETS["w8a8"])
    at = tune_page(extra={key: {"edited_rows": {1: {"w_bits": 4}}, "added_rows": [], "deleted_rows": []}})
    assert not at.exception and not at.error
    config = ModelConfig.from_json(at.session_state["model_config"])
    assert set(config.layers) == {ids[1]} and config.for_layer(ids[1]).weights.bits == 4
    assert_shows(at, digits_mlp, config)
    assert expected(digits_mlp, config).size.weight_bytes < expected(digits_mlp, PRESETS["w8a8"]).size.weight_bytes
    history = at.session_state["tune_history"]
    assert [h["config"] for h in history][-1] == config.to_json()


def test_bad_edit_is_a_short_message_and_keeps_the_config(digits_mlp):
    key = tune.tune_table_key(SimpleNamespace(sha256=digits_mlp.model.sha256), PRESETS["w8a8"])
    at = tune_page(
        extra={key: {"edited_rows": {0: {"a_bits": 16, "a_estimator": "manual"}}, "added_rows": [], "deleted_rows": []}}
    )
    assert not at.exception and len(at.error) == 1 and "Traceback" not in at.error[0].value
    assert at.session_state["model_config"] == PRESETS["w8a8"].to_json()


def test_bulk_edit_by_name_pattern_and_preset(digits_mlp):
    at = tune_page()
    assert at.selectbox(key="tune_preset").value == "w8a8"  # the preset box shows the active config
    by_label(at.radio, "tn_target").set_value("pattern")
    at.run()
    by_label(at.text_input, "tn_pattern").set_value("*net.[24]*")
    at.run()
    by_label(at.selectbox, "tn_w_bits").set_value(4)
    at.button(key="tune_bulk_apply").click()
    at.run()
    config = ModelConfig.from_json(at.session_state["model_config"])
    assert [config.for_layer(i).weights.bits for i in digits_mlp.ids] == [8, 4, 4]
    assert_shows(at, digits_mlp, config)
    assert at.selectbox(key="tune_preset").value is None  # a custom config is no preset (it showed fp32)
    assert at.button(key="tune_apply_preset").disabled
    at.selectbox(key="tune_preset").set_value("w8").run()
    assert at.selectbox(key="tune_preset").value == "w8"  # the choice stays until applied
    at.button(key="tune_apply_preset").click()
    at.run()
    assert at.session_state["model_config"] == PRESETS["w8"].to_json()
    assert at.selectbox(key="tune_preset").value == "w8"
    assert_shows(at, digits_mlp, PRESETS["w8"])
    assert len(at.session_state["tune_history"]) == 3


def test_selected_rows_are_a_bulk_target(digits_mlp):
    ids = digits_mlp.ids
    key = tune.tune_table_key(SimpleNamespace(sha256=digits_mlp.model.sha256), PRESETS["w8a8"])
    at = tune_page(
        extra={key: {"edited_rows": {0: {"sel": True}, 2: {"sel": True}}, "added_rows": [], "deleted_rows": []}}
    )
    assert at.session_state["tune_selected"] == [ids[0], ids[2]]
    by_label(at.selectbox, "tn_w_bits").set_value(0)
    at.button(key="tune_bulk_apply").click()
    at.run()
    config = ModelConfig.from_json(at.session_state["model_config"])
    assert [config.for_layer(i).weights is None for i in ids] == [True, False, True]
    assert tuning.config_table(digits_mlp.layers, config)["w_bits"].tolist() == [0, 8, 0]


def test_an_uploaded_model_without_labels_shows_fidelity():
    from qviz_dev.app_pages import tiny_model, upload

    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "tiny.onnx", tiny_model())
    at.switch_page("qviz/views/tune.py")
    at = at.run()
    assert not at.exception and not at.error
    assert metric(at, "tn_agreement").endswith("%")
    assert not [m for m in at.metric if m.label in labels("tn_accuracy")]
    assert at.dataframe[0].value["layer"].tolist() == ["fc"]


def test_bulk_edit_settings_survive_another_page(digits_mlp):
    """Issue 15, item 13: the bulk editor's target, pattern and bits were reset by a visit to another page."""
    at = tune_page()
    by_label(at.radio, "tn_target").set_value("pattern")
    at.run()
    by_label(at.text_input, "tn_pattern").set_value("*net.4*")
    by_label(at.selectbox, "tn_w_bits").set_value(4)
    at.run()
    at.switch_page("qviz/views/model.py")
    at.run()
    at.switch_page("qviz/views/tune.py")
    at.run()
    assert not at.exception
    assert by_label(at.radio, "tn_target").value == "pattern"
    assert by_label(at.text_input, "tn_pattern").value == "*net.4*"
    assert by_label(at.selectbox, "tn_w_bits").value == 4
