"""The Export page through AppTest: every download holds bytes that onnxruntime / json / csv read back."""

import csv
import io
import json

import numpy as np
import onnxruntime as ort
import pytest
import streamlit.testing.v1.app_test as app_test_module
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from qviz.config import PRESETS, LayerConfig, ModelConfig
from qviz.model import layer_table, load_model
from qviz.model.deploy.kernels import integer_ops_report
from qviz.quant import QuantSpec
from qviz.samples import load_sample
from qviz_dev.app_pages import by_label, labels, open_page, tiny_model, upload

SAMPLE = "digits_cnn"


@pytest.fixture
def media(monkeypatch):
    """Keep AppTest's in-memory media storages, so a download button's bytes can be read."""
    stores = []

    class Recording(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            stores.append(self)

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", Recording)
    return stores


def download(at, stores, key: str) -> bytes:
    url = next(b.proto.url for b in at.get("download_button") if b.proto.id.endswith(key))
    return stores[-1].get_file(url.rsplit("/", 1)[1]).content


def export_page(config: ModelConfig):
    return open_page(
        "qviz/views/export.py",
        state={"model_source": {"kind": "sample", "id": SAMPLE}, "model_config": config.to_json()},
    )


def run_model(data: bytes) -> np.ndarray:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    x = load_sample(SAMPLE).test.x[:8]
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def test_deployable_and_simulated_models_run_in_onnxruntime(media):
    at = export_page(PRESETS["w8a8"])
    assert not at.exception and not at.warning
    by_label(at.button, "exp_build_deploy").click().run()
    by_label(at.button, "exp_build_simulated").click().run()
    deployed, simulated = download(at, media, "export_dl_deploy"), download(at, media, "export_dl_simulated")
    assert set(integer_ops_report(deployed).values()) == {"integer"}
    reference = run_model(load_sample(SAMPLE).model_bytes)
    for data in (deployed, simulated):
        assert (run_model(data).argmax(1) == reference.argmax(1)).mean() >= 0.75


def test_config_overrides_and_csv_downloads(media):
    config = PRESETS["w8a8"].with_layer(
        layer_table(load_model(load_sample(SAMPLE).model_bytes))[0].id, LayerConfig.float()
    )
    at = export_page(config)
    assert ModelConfig.from_dict(json.loads(download(at, media, "export_dl_config"))) == config
    overrides = json.loads(download(at, media, "export_dl_overrides"))
    assert overrides["nodes_to_exclude"] and overrides["extra_options"]["TensorQuantOverrides"]
    rows = list(csv.DictReader(io.StringIO(download(at, media, "export_dl_csv").decode())))
    assert len(rows) == len(layer_table(load_model(load_sample(SAMPLE).model_bytes)))
    assert rows[0]["weights"] == "float"


def test_not_deployable_lists_problems_and_offers_the_simulated_model(media):
    three_bit = LayerConfig(QuantSpec(bits=3, granularity="channel"), None)
    at = export_page(PRESETS["w8a8"].with_default(three_bit))
    assert not at.exception and at.warning
    problems = at.dataframe[0].value.iloc[:, 0].tolist()
    assert problems and all("bits=3" in p for p in problems)
    assert not any(b.label in labels("exp_build_deploy") for b in at.button)
    by_label(at.button, "exp_build_simulated").click().run()
    assert run_model(download(at, media, "export_dl_simulated")).shape == (8, 10)
    assert "sim.onnx" in at.code[0].value


def test_report_download_is_self_contained_html(media):
    at = export_page(PRESETS["w8a8"])
    by_label(at.button, "exp_build_report").click().run()
    text = download(at, media, "export_dl_report").decode()
    assert text.startswith("<!DOCTYPE html>") and text.count("Plotly.newPlot") >= 5
    # plotly.js is inlined once (its bundle mentions cdn.plot.ly only as the default for geo maps)
    assert "<script src=" not in text and text.count("plotly.js v") == 1


def test_report_of_the_same_bytes_never_shows_another_users_file_name(media):
    """The report cache is shared by all users: its key must hold the file name it prints."""
    data = tiny_model()
    for name in ("alice.onnx", "bob.onnx"):
        at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", name, data)
        at.switch_page("qviz/views/export.py")
        by_label(at.run().button, "exp_build_report").click().run()
        text = download(at, media, "export_dl_report").decode()
        assert name in text and ({"alice.onnx", "bob.onnx"} - {name}).pop() not in text


@pytest.mark.parametrize("page", ["qviz/views/model.py", "qviz/views/layer.py", "qviz/views/export.py"])
def test_a_model_without_layers_is_described_not_crashed(page):
    from onnx import TensorProto, helper

    node = helper.make_node("Relu", ["x"], ["y"], name="relu")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
    )
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10).SerializeToString()
    at = open_page("qviz/views/model.py")
    at.file_uploader(key="model_upload_onnx").upload("relu.onnx", data, "application/octet-stream")
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception and not at.error


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_export_page_in_every_language(lang):
    at = open_page("qviz/views/export.py", lang)
    assert not at.exception
    shown = "\n".join(
        [b.label for b in at.button]
        + [b.label for b in at.get("download_button")]
        + [str(e.value) for kind in ("title", "subheader", "caption", "text") for e in at.get(kind)]
    )
    assert "[[" not in shown
    assert at.title[0].value in labels("export_title")
