"""to_ort_overrides: onnxruntime's own quantize_static turns it into the config's per-layer types."""

import csv
import io
import json

import numpy as np
import onnx
import pytest

from qviz.config import PRESETS, LayerConfig
from qviz.model import layer_table, load_model
from qviz.model.deploy.ort_overrides import FORMULA_STARTS, layers_csv, to_ort_overrides
from qviz.model.runtime.ort_quantizer import FeedReader, ort_quantize_kwargs
from qviz.quant import QuantSpec
from qviz_dev.model_factory import conv_net, mlp, random_inputs, to_bytes

INT16_ACTS = LayerConfig(QuantSpec(bits=8, granularity="channel"), QuantSpec(bits=16, signed=True, symmetric=False))


def _quantize_with_ort(tmp_path, model, overrides):
    from onnxruntime.quantization import QuantFormat, quantize_static

    out = tmp_path / "q.onnx"
    feeds = [random_inputs(model, batch=4, seed=i) for i in range(3)]
    quantize_static(model, out, FeedReader(feeds), quant_format=QuantFormat.QDQ, **ort_quantize_kwargs(overrides))
    return onnx.load(out)


def _types(q: onnx.ModelProto):
    """{tensor: element type} of every QuantizeLinear input / DequantizeLinear output's quantized data."""
    inits = {t.name: t.data_type for t in q.graph.initializer}
    zp = {}
    for n in q.graph.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear") and len(n.input) > 2:
            key = n.input[0] if n.op_type == "QuantizeLinear" else n.output[0]
            zp[key] = inits.get(n.input[2])
    return zp


def test_overrides_json_round_trip_and_ort_types(tmp_path):
    m = conv_net()
    config = PRESETS["w8a8"].with_layer("conv1", INT16_ACTS).with_layer("fc", LayerConfig.float())
    ov = to_ort_overrides(to_bytes(m), config)
    ov = json.loads(json.dumps(ov))  # what `qviz export-config` writes is plain JSON
    assert ov["nodes_to_exclude"] == ["fc"]
    q = _quantize_with_ort(tmp_path, m, ov)
    types = _types(q)
    assert types["x"] == onnx.TensorProto.INT16  # conv1's input: int16 activations
    assert types["r1"] == onnx.TensorProto.UINT8  # conv2's input: uint8
    layers = {x.id: x for x in layer_table(load_model(q.SerializeToString()))}
    conv2 = next(x for k, x in layers.items() if k.startswith("conv2.weight"))  # unnamed: id = stored weight
    assert layers["conv1"].quantized and conv2.quantized
    assert layers["fc"].weight_dtype == "float32"  # excluded: weight stays float
    assert layers["conv1"].weight_dtype == "int8"


def test_explicit_qparams_are_used_by_ort(tmp_path):
    m = conv_net()
    ov = to_ort_overrides(to_bytes(m), PRESETS["w8a8"], qparams={"x": (np.float32(0.05), np.int32(100))})
    q = _quantize_with_ort(tmp_path, m, json.loads(json.dumps(ov)))
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in q.graph.initializer}
    node = next(n for n in q.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == "x")
    assert float(inits[node.input[1]]) == pytest.approx(0.05) and int(inits[node.input[2]]) == 100


def test_non_native_layers_are_excluded_with_a_note():
    config = PRESETS["w8a8"].with_layer("conv1", LayerConfig(QuantSpec(bits=3), None))
    ov = to_ort_overrides(to_bytes(conv_net()), config)
    assert "conv1" in ov["nodes_to_exclude"] and any(n.startswith("conv1:") and "bits=3" in n for n in ov["notes"])


def test_layers_csv_has_one_row_per_layer():
    text = layers_csv(to_bytes(conv_net()), PRESETS["w4g32"])
    lines = text.strip().split("\n")
    assert lines[0].startswith("id,op_type,weight_name") and len(lines) == 4
    assert "per-channel" in text and "weight_only" in text


@pytest.mark.parametrize(
    "name",
    ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"],
    ids=["equals", "plus", "minus", "at", "tab", "cr"],
)
def test_layers_csv_cells_never_start_a_formula(name):
    """A layer id (node name) from the model becomes a text cell ('=...) in the CSV."""
    model = mlp()
    model.graph.node[0].name = name  # the Gemm 'fc1', the first layer
    rows = list(csv.reader(io.StringIO(layers_csv(to_bytes(model), PRESETS["w8a8"]))))[1:]
    assert rows and all(not cell.startswith(FORMULA_STARTS) for row in rows for cell in row)
    assert rows[0][0] == "'" + name
