"""Layer table: ids, axes, params and MACs; the channel axis is checked against onnxruntime."""

from __future__ import annotations

import math

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from qviz.model import layer_table, layers_dataframe, load_model, make_session
from qviz_dev import model_factory as mf

# (id, op_type, weight_name, weight_shape, channel_axis, reduction_axis, bias_name, params, macs, quantized)
# MACs at batch 1 = output elements x reduction length (hand-computed from the factory docstrings).
EXPECTED = {
    "conv_net": [
        ("conv1", "Conv", "conv1.weight", (4, 3, 3, 3), 0, 1, "conv1.bias", 112, 4 * 6 * 6 * 27, False),
        ("conv2.weight", "Conv", "conv2.weight", (8, 4, 3, 3), 0, 1, None, 288, 8 * 6 * 6 * 36, False),
        ("fc", "Gemm", "fc.weight", (10, 8), 0, 1, "fc.bias", 90, 10 * 8, False),
    ],
    "conv_transpose_net": [("up", "ConvTranspose", "up.weight", (4, 2, 3, 3), 1, 0, "up.bias", 74, 4 * 25 * 18, False)],
    "mlp": [
        ("fc1", "Gemm", "fc1.weight", (16, 32), 1, 0, "fc1.bias", 544, 32 * 16, False),
        ("fc2", "MatMul", "fc2.weight", (32, 8), 1, 0, None, 256, 8 * 32, False),
        ("proj", "MatMul", "proj.weight", (12, 16), 0, 1, None, 192, 12 * 16, False),
    ],
    "multi_input": [
        ("wa", "MatMul", "wa", (8, 4), 1, 0, None, 32, 32, False),
        ("wb", "MatMul", "wb", (8, 4), 1, 0, None, 32, 32, False),
    ],
    "fp16_weights": [
        ("mm", "MatMul", "w16", (16, 8), 1, 0, None, 128, 128, False),
        ("g16", "Gemm", "g16.weight", (8, 4), 1, 0, None, 32, 32, False),
    ],
    "qdq_conv": [("qconv", "Conv", "w_q", (4, 3, 3, 3), 0, 1, "b", 112, 4 * 36 * 27, True)],
    "qoperator": [
        ("qlc", "QLinearConv", "qlc.w", (4, 3, 3, 3), 0, 1, "qlc.b", 112, 4 * 36 * 27, True),
        ("qlm", "QLinearMatMul", "qlm.w", (16, 4), 1, 0, None, 64, 2 * 4 * 16, True),
        ("mi.weight", "MatMulInteger", "mi.weight", (16, 3), 1, 0, None, 48, 2 * 3 * 16, True),
    ],
    "constant_weights": [
        ("cw", "MatMul", "cw", (16, 8), 1, 0, None, 128, 128, False),
        ("cg", "Gemm", "cgw", (4, 8), 0, 1, "cgb", 36, 32, False),
    ],
    "lstm_net": [
        ("lstm:W", "LSTM", "W", (1, 20, 4), 1, 2, "B", 120, 3 * 80, False),
        ("lstm:R", "LSTM", "R", (1, 20, 5), 1, 2, None, 100, 3 * 100, False),
    ],
    "com_microsoft_ops": [
        ("nbits", "MatMulNBits", "nb.w", (4, 1, 16), 0, 1, None, 32 * 4, 4 * 32, True),
        ("attn", "Attention", "attn.w", (8, 24), 1, 0, "attn.b", 8 * 24 + 24, 3 * 8 * 24, False),
    ],
    "no_layers": [],
}


def _row(layer):
    return (
        layer.id,
        layer.op_type,
        layer.weight_name,
        layer.weight_shape,
        layer.channel_axis,
        layer.reduction_axis,
        layer.bias_name,
        layer.params,
        layer.macs,
        layer.quantized,
    )


@pytest.mark.parametrize("name", list(EXPECTED))
def test_layer_table(name):
    layers = layer_table(load_model(mf.to_bytes(mf.ALL_GOOD[name]())))
    assert [_row(x) for x in layers] == EXPECTED[name]
    assert len({x.id for x in layers}) == len(layers)
    assert [x.position for x in layers] == sorted(x.position for x in layers)


def test_activation_tensors_and_positions():
    layers = {x.id: x for x in layer_table(mf.conv_net())}  # a bare ModelProto works too
    assert (layers["conv1"].inputs, layers["conv1"].outputs, layers["conv1"].position) == (("x",), ("c1",), 0)
    assert (layers["conv2.weight"].inputs, layers["conv2.weight"].position) == (("r1",), 2)
    assert layers["fc"].inputs == ("f",) and layers["fc"].outputs == ("y",)


def test_macs_scale_with_a_static_batch():
    dynamic = {x.id: x.macs for x in layer_table(mf.conv_net("N"))}
    static = {x.id: x.macs for x in layer_table(mf.conv_net(4))}
    assert static == {k: 4 * v for k, v in dynamic.items()}


def test_macs_unknown_without_shapes():
    model = mf.mlp()
    model.graph.input[0].type.tensor_type.ClearField("shape")
    assert {x.id: x.macs for x in layer_table(model)} == {"fc1": None, "fc2": None, "proj": None}


def test_conv_macs_match_onnxruntime_output_shapes():
    model = mf.conv_net()
    model.graph.output.extend([helper.make_value_info(n, onnx.TypeProto()) for n in ("c1", "c2")])
    out = make_session(model).run(["c1", "c2"], mf.random_inputs(model, batch=1))
    layers = layer_table(model)
    for layer, y in zip(layers[:2], out, strict=True):
        assert layer.macs == y.size * math.prod(layer.weight_shape[1:])


def test_float_weight_fed_by_dequantize_is_not_marked_quantized():
    """Only the weight decides: a float layer after a QDQ pair reads a DequantizeLinear output."""
    model = mf.qdq_conv()
    dq = next(n for n in model.graph.node if n.output[0] == "w_dq")
    model.graph.node.remove(dq)
    model.graph.initializer.append(mf.init("w_dq", mf.rand((4, 3, 3, 3))))
    (layer,) = layer_table(model)
    assert (layer.weight_name, layer.weight_dtype, layer.quantized) == ("w_dq", "float32", False)


def test_duplicate_ids_are_suffixed():
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="dup"),
        helper.make_node("MatMul", ["h", "w"], ["y"], name="dup"),
        helper.make_node("MatMul", ["y", "w"], ["z"]),
        helper.make_node("MatMul", ["z", "w"], ["u"]),
    ]
    model = mf.make_model(nodes, [mf.vinfo("x", [1, 4])], [mf.vinfo("u", [1, 4])], [mf.init("w", mf.rand((4, 4)))])
    assert [x.id for x in layer_table(model)] == ["dup", "dup~2", "w", "w~2"]


def test_dataframe_has_one_row_per_layer():
    layers = layer_table(mf.conv_net())
    df = layers_dataframe(layers)
    assert list(df["id"]) == ["conv1", "conv2.weight", "fc"]
    assert df.loc[0, "weight_shape"] == "4 x 3 x 3 x 3"
    assert layers_dataframe([]).empty


# ---- the channel axis really is the output channel: onnxruntime as the oracle ----------------

ORACLE_CASES = [  # (model, layer id, axis of the layer's output that holds its channels)
    ("conv_net", "conv1", 1),
    ("conv_net", "conv2.weight", 1),
    ("conv_net", "fc", -1),
    ("conv_transpose_net", "up", 1),
    ("mlp", "fc1", -1),
    ("mlp", "fc2", -1),
    ("mlp", "proj", -2),
    ("multi_input", "wa", -1),
    ("lstm_net", "lstm:W", None),
]


def _run_with(model, layer, weight):
    m = onnx.ModelProto()
    m.CopyFrom(model)
    m.graph.output.append(helper.make_value_info(layer.outputs[0], onnx.TypeProto()))
    for t in m.graph.initializer:
        if t.name == layer.weight_name:
            t.CopyFrom(numpy_helper.from_array(weight, t.name))
    return make_session(m).run([layer.outputs[0]], mf.random_inputs(model, batch=2))[0]


@pytest.mark.parametrize("name,layer_id,out_axis", ORACLE_CASES, ids=[f"{m}-{i}" for m, i, _ in ORACLE_CASES])
def test_channel_axis_selects_one_output_channel(name, layer_id, out_axis):
    model = mf.ALL_GOOD[name]()
    layer = {x.id: x for x in layer_table(model)}[layer_id]
    w = numpy_helper.to_array(next(t for t in model.graph.initializer if t.name == layer.weight_name))
    c = 1
    scaled = w.copy()
    index = [slice(None)] * w.ndim
    index[layer.channel_axis] = c
    scaled[tuple(index)] *= 3
    changed = np.argwhere(~np.isclose(_run_with(model, layer, w), _run_with(model, layer, scaled)))
    assert len(changed) > 0
    if out_axis is None:  # LSTM: gate rows mix into every hidden unit; only check it matters
        return
    assert set(changed[:, out_axis]) == {c}


def test_suffixed_ids_never_collide_with_node_names():
    """Node names fc, fc~2, fc: the third cannot be fc~2 (taken), it is fc~3."""
    names = ["fc", "fc~2", "fc"]
    outs = ["h1", "h2", "y"]
    nodes = [
        helper.make_node("MatMul", [x, "w"], [o], name=n)
        for x, o, n in zip(["x", *outs[:-1]], outs, names, strict=True)
    ]
    model = mf.make_model(nodes, [mf.vinfo("x", [1, 4])], [mf.vinfo("y", [1, 4])], [mf.init("w", mf.rand((4, 4)))])
    ids = [x.id for x in layer_table(model)]
    assert ids == ["fc", "fc~2", "fc~3"] and len(set(ids)) == len(ids)
