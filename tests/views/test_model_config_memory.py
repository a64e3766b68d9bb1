"""Per-model config memory (issue 15 item 1): switching models never carries one model's layer
overrides to another (layer ids like "/features/features.0/Conv" are shared by many exports)."""

from qviz.config import PRESETS, LayerConfig
from qviz.model import layer_table, load_model
from qviz.samples import load_sample
from qviz.ui import i18n
from qviz_dev.app_pages import open_page, texts, tiny_model, upload

MOBILENET, CNN = "digits_mobilenet", "digits_cnn"


def overrides_on(sample_id: str, base: str = "w4a8"):
    """`base` with every layer of the sample set to float: one override per layer."""
    config = PRESETS[base]
    for layer in layer_table(load_model(load_sample(sample_id).model_bytes)):
        config = config.with_layer(layer.id, LayerConfig.float())
    return config


def config_line(at) -> str:
    return next(s for s in texts(at, ("text",)) if s.startswith(("Current config", "当前配置")))


def pick_sample(at, sample_id: str):
    at.selectbox(key="model_sample_pick").set_value(sample_id).run()
    assert not at.exception
    return at


def test_switching_models_drops_the_other_models_overrides_and_restores_them_on_return():
    custom = overrides_on(MOBILENET)
    state = {"model_source": {"kind": "sample", "id": MOBILENET}, "model_config": custom.to_json()}
    at = open_page("qviz/views/model.py", state=state)
    assert config_line(at) == i18n.translate("mp_config_now", "en", code="custom (20 layer overrides)")
    pick_sample(at, CNN)
    # The CNN never had a config: it starts from the global default the user chose (w4a8), no overrides.
    assert at.session_state["model_config"] == PRESETS["w4a8"].to_json()
    assert config_line(at) == i18n.translate("mp_config_now", "en", code="w4a8")
    pick_sample(at, MOBILENET)
    assert at.session_state["model_config"] == custom.to_json()  # its own config comes back


def test_each_model_keeps_its_own_last_config():
    cnn_custom = PRESETS["w8"].with_layer("/features/features.0/Conv", LayerConfig.float())
    at = open_page("qviz/views/model.py", state={"model_config": overrides_on(MOBILENET).to_json()})
    pick_sample(at, CNN)
    at.session_state["model_config"] = cnn_custom.to_json()  # as Tune would set it
    at.run()
    pick_sample(at, MOBILENET)
    assert at.session_state["model_config"] == overrides_on(MOBILENET).to_json()
    pick_sample(at, CNN)
    assert at.session_state["model_config"] == cnn_custom.to_json()


def test_an_upload_does_not_inherit_the_samples_overrides():
    at = open_page("qviz/views/model.py", state={"model_config": overrides_on(MOBILENET, "w8a8").to_json()})
    at = upload(at, "model_upload_onnx", "m.onnx", tiny_model("/features/features.0/Conv"))
    assert not at.exception and not at.error
    assert at.session_state["model_config"] == PRESETS["w8a8"].to_json()
    pick_sample(at, MOBILENET)
    assert at.session_state["model_config"] == overrides_on(MOBILENET, "w8a8").to_json()
