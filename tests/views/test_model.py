"""The Model page through AppTest: default sample, sample switch, uploads (good, broken, hostile), URL, presets."""

import io
import json
import re

import numpy as np
import pytest

from qviz.config import PRESETS, LayerConfig
from qviz.config.url import config_code, config_from_code
from qviz.model import layer_table, load_model
from qviz.model.load.input_data import read_inputs_npz
from qviz.quant import SpecError
from qviz.samples import DEFAULT_SAMPLE, load_sample
from qviz.ui import i18n
from qviz_dev.app_pages import (
    MAX_FIGURE_BYTES,
    by_label,
    figure,
    figure_sizes,
    labels,
    metric,
    open_page,
    texts,
    tiny_model,
    upload,
)

EVIL = "<img src=x onerror=alert(1)>"


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def sample_numbers(sample_id: str) -> tuple[int, int]:
    layers = layer_table(load_model(load_sample(sample_id).model_bytes))
    return len(layers), sum(layer.params for layer in layers)  # parameters: the layers' weights and biases


@pytest.mark.parametrize("lang", list(i18n.LANGUAGES))
def test_default_sample_summary_and_map(lang):
    at = open_page("qviz/views/model.py", lang)
    assert not at.exception and not at.error
    n_layers, params = sample_numbers(DEFAULT_SAMPLE)
    assert metric(at, "sum_layers") == str(n_layers)
    assert metric(at, "sum_params") == f"{params:,}"
    bars = figure(at, 0)["data"][0]
    assert len(bars["customdata"]["bdata"]) > 0 and "[[" not in "\n".join(texts(at))
    assert len(at.dataframe[-1].value) == n_layers


def test_switching_sample_changes_the_numbers():
    at = open_page("qviz/views/model.py")
    at.selectbox(key="model_sample_pick").set_value("digits_mlp").run()
    n_layers, params = sample_numbers("digits_mlp")
    assert not at.exception
    assert (metric(at, "sum_layers"), metric(at, "sum_params")) == (str(n_layers), f"{params:,}")


@pytest.mark.parametrize("data", [b"", b"garbage", b"\x08\x07" * 50], ids=["empty", "text", "protobuf-junk"])
def test_broken_upload_is_an_error_message_not_an_exception(data):
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "bad.onnx", data)
    assert not at.exception
    assert at.error and at.error[0].value.startswith(i18n.translate("mp_model_error", "en", message="")[:10])
    assert metric(at, "sum_layers") == str(sample_numbers(DEFAULT_SAMPLE)[0])  # the sample stays loaded


def test_hostile_node_name_is_shown_as_plain_text():
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "m.onnx", tiny_model(EVIL))
    assert not at.exception and not at.error
    assert metric(at, "sum_layers") == "1" and metric(at, "sum_params") == "12"
    assert EVIL in at.dataframe[-1].value["id"].tolist()  # a dataframe cell: plain text
    assert any(EVIL in option for option in by_label(at.selectbox, "mp_layer").options)
    markdown = [e.value for kind in ("markdown", "caption", "error", "warning", "info") for e in at.get(kind)]
    assert not any(re.search(r"(?<!\\)<img", text) for text in markdown)
    assert "&lt;img" in json.dumps(figure(at, 0))  # escaped in the figure's hover text


def test_hostile_name_in_an_error_message_is_escaped():
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "m.onnx", tiny_model(EVIL, domain="evil.x"))
    assert not at.exception
    message = at.error[0].value
    assert "custom domain" in message and "\\<img" in message  # Markdown-escaped: shown, never rendered
    assert not re.search(r"(?<!\\)<img", message)


def test_npz_inputs_upload_is_validated():
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "m.onnx", tiny_model())
    assert i18n.translate("mp_data_generated", "en", rows=0) in texts(at, ("caption",))
    bad = upload(at, "model_upload_npz", "bad.npz", npz_bytes(x=np.zeros((5, 7), np.float32)))
    assert not bad.exception and "dimension 1 must be 4" in bad.error[-1].value.replace("\\", "")
    good = upload(at, "model_upload_npz", "ok.npz", npz_bytes(x=np.ones((5, 4), np.float32), y=np.arange(5)))
    assert not good.exception and not good.error
    assert i18n.translate("mp_data_npz", "en", rows=5) in texts(good, ("caption",))


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"z": np.zeros((2, 4))}, "keys must be x"),
        ({"x": np.zeros((2, 4)), "y": np.zeros(3, np.int64)}, "y must be 2 integer labels"),
        ({"x": np.array([["a"] * 4])}, "must be numeric"),
        ({"x": np.zeros((0, 4))}, "at least one row"),
    ],
    ids=["wrong-key", "label-count", "strings", "no-rows"],
)
def test_read_inputs_npz_rejects(arrays, message):
    loaded = load_model(tiny_model())
    with pytest.raises(SpecError, match=message):
        read_inputs_npz(npz_bytes(**arrays), loaded.inputs)


def test_read_inputs_npz_refuses_a_zip_bomb_unread():
    loaded = load_model(tiny_model())
    with pytest.raises(SpecError, match="uncompressed"):
        read_inputs_npz(npz_bytes(x=np.zeros((1000, 4), np.float32)), loaded.inputs, max_bytes=1000)


def test_config_code_round_trip_and_rejections():
    custom = PRESETS["w8a8"].with_layer("fc", LayerConfig.float())
    assert config_code(PRESETS["w4g32"]) == "w4g32"
    assert config_from_code(config_code(custom)) == custom
    for bad in ("nope", "z!!!", "z" + "A" * 9000):
        with pytest.raises(SpecError):
            config_from_code(bad)


def test_url_selects_sample_and_config_and_is_written_back():
    custom = PRESETS["w4g32"].with_layer("fc", LayerConfig.float())
    at = open_page("qviz/views/model.py", query={"sample": "digits_mlp", "config": config_code(custom)})
    assert not at.exception
    assert metric(at, "sum_layers") == str(sample_numbers("digits_mlp")[0])
    assert at.session_state["model_config"] == custom.to_json()
    assert at.query_params["sample"] == ["digits_mlp"] or at.query_params["sample"] == "digits_mlp"


def test_bad_url_config_is_a_warning():
    at = open_page("qviz/views/model.py", query={"config": "zgarbage"})
    assert not at.exception and at.warning
    assert at.session_state["model_config"] == PRESETS["w8a8"].to_json()


def test_apply_preset_and_color_by_bits():
    at = open_page("qviz/views/model.py")
    at.selectbox(key="model_preset_pick").set_value("w4g32").run()
    by_label(at.button, "mp_apply_preset").click().run()
    assert at.session_state["model_config"] == PRESETS["w4g32"].to_json()
    at.radio(key="model_map_quantity").set_value("bits").run()
    assert not at.exception
    assert all(w.startswith("int4") for w in at.dataframe[-1].value["weights"])


def test_open_layer_button_switches_page():
    at = open_page("qviz/views/model.py")
    chosen = at.dataframe[-1].value["id"].iloc[3]
    by_label(at.selectbox, "mp_layer").set_value(chosen).run()
    by_label(at.button, "mp_open_layer").click().run()
    assert not at.exception
    assert at.title[0].value in labels("layer_title")
    assert at.session_state["layer_id"] == chosen
    assert by_label(at.selectbox, "mp_layer").value == chosen


def test_figures_stay_under_2_mb():
    at = open_page("qviz/views/model.py")
    assert figure_sizes(at) and max(figure_sizes(at)) < MAX_FIGURE_BYTES
