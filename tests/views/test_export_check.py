"""The Export page's on-demand check (deployed vs simulated, per tensor and end to end, speed) and
its integer-kernel table, through AppTest on a sample."""

from __future__ import annotations

from qviz.config import PRESETS, LayerConfig
from qviz.model import layer_table, load_model
from qviz.samples import load_sample
from qviz.ui import i18n
from qviz_dev.app_pages import by_label, open_page, texts

SAMPLE = "digits_cnn"


def export_page(config):
    return open_page(
        "qviz/views/export.py",
        state={"model_source": {"kind": "sample", "id": SAMPLE}, "model_config": config.to_json()},
    )


def frames(at) -> list:
    return [d.value for d in at.dataframe]


def column(at, key: str):
    """The first shown table with the translated column `key`, as that column's values."""
    name = i18n.translate(key)
    return next(list(df[name]) for df in frames(at) if hasattr(df, "columns") and name in df.columns)


def test_check_button_shows_tensors_both_ways_and_speed():
    at = export_page(PRESETS["w8a8"])
    assert not at.exception
    by_label(at.button, "exp_check_button").click().run()
    assert not at.exception and not at.error
    shown = " ".join(texts(at))
    assert "quantized tensors match the simulation" in shown
    results = column(at, "exp_check_col_result")
    assert results and set(results) <= {"pass", "FAIL"}
    assert results == sorted(results, key=lambda r: r == "pass")  # failing tensors first
    reasons = column(at, "exp_check_col_reason")
    assert all(reason for result, reason in zip(results, reasons, strict=True) if result == "FAIL")
    ways = column(at, "exp_check_col_model")
    assert ways == ["simulated", "deployed"]
    assert all(a.endswith("%") for a in column(at, "exp_check_col_accuracy"))
    assert "int8 runs at" in shown and "CPU:" in shown  # the speed part and its hardware line
    assert "QLinearConv" in column(at, "exp_speed_col_op")


def test_export_says_which_layers_became_integer_kernels():
    layers = layer_table(load_model(load_sample(SAMPLE).model_bytes))
    config = PRESETS["w8a8"].with_layer(layers[0].id, LayerConfig.float())
    at = export_page(config)
    by_label(at.button, "exp_build_deploy").click().run()
    assert not at.exception
    kernels = dict(zip(column(at, "exp_kernel_col_layer"), column(at, "exp_kernel_col_kernel"), strict=True))
    assert kernels[layers[0].id] == "float" and kernels[layers[1].id] == "integer"
    why = dict(zip(column(at, "exp_kernel_col_layer"), column(at, "exp_kernel_col_why"), strict=True))
    assert why[layers[0].id] == i18n.translate("exp_kernel_float_why") and why[layers[1].id] == ""
    assert any("4 of 5" in x for x in texts(at))


def test_check_in_chinese():
    at = open_page(
        "qviz/views/export.py",
        lang="zh",
        state={"model_source": {"kind": "sample", "id": SAMPLE}, "model_config": PRESETS["w8a8"].to_json()},
    )
    by_label(at.button, "exp_check_button").click().run()
    assert not at.exception and not at.error
    assert i18n.translate("exp_check_col_result", "zh") in {c for df in frames(at) for c in getattr(df, "columns", [])}


def test_layer_page_checks_its_own_tensors():
    """The Layer page runs the same check on demand and shows only the chosen layer's tensors."""
    layers = layer_table(load_model(load_sample(SAMPLE).model_bytes))
    at = open_page(
        "qviz/views/layer.py",
        state={"model_source": {"kind": "sample", "id": SAMPLE}, "model_config": PRESETS["w8a8"].to_json()},
    )
    assert not at.exception
    by_label(at.button, "exp_check_button").click().run()
    assert not at.exception and not at.error
    first = layers[0]
    tensors = column(at, "exp_check_col_tensor")
    assert tensors and set(tensors) <= {first.inputs[0], first.weight_name, first.outputs[0]}
    assert first.weight_name in tensors
