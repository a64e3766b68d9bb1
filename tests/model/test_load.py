"""Good inputs load and are described correctly; oracles are onnx's own decoders and onnxruntime."""

from __future__ import annotations

import hashlib

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from onnx.reference import ReferenceEvaluator

from qviz.model import TensorInfo, load_model, make_session, weight_stats
from qviz.model.runtime.session import session_options
from qviz_dev import model_factory as mf


@pytest.mark.parametrize("name", list(mf.ALL_GOOD))
def test_factory_models_load_and_run(name):
    model = mf.ALL_GOOD[name]()
    loaded = load_model(mf.to_bytes(model))
    outputs = make_session(loaded.model_bytes).run(None, mf.random_inputs(model))
    assert len(outputs) == len(loaded.outputs)
    assert loaded.nonfinite_weights == {} and loaded.empty_weights == ()


@pytest.mark.parametrize("name", list(mf.ALL_GOOD))
def test_weights_match_onnx_decoder(name):
    """Every initializer and Constant tensor decodes exactly as numpy_helper does."""
    model = mf.ALL_GOOD[name]()
    loaded = load_model(mf.to_bytes(model))
    expected = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            graph = onnx.helper.make_graph(
                [node], "c", [], [onnx.helper.make_value_info(node.output[0], onnx.TypeProto())]
            )
            expected[node.output[0]] = ReferenceEvaluator(onnx.helper.make_model(graph)).run(None, {})[0]
    assert set(loaded.weights) == set(expected)
    for key, x in expected.items():
        got = loaded.weights[key]
        assert got.dtype == x.dtype and got.shape == x.shape and np.array_equal(got, x), key
        assert not got.flags.writeable
    assert loaded.param_count == sum(x.size for x in expected.values())


def test_path_and_bytes_agree_and_name_does_not_matter(tmp_path):
    data = mf.to_bytes(mf.conv_net())
    path = tmp_path / "picture.png"
    path.write_bytes(data)
    a, b = load_model(data), load_model(path)
    assert a.sha256 == b.sha256 == hashlib.sha256(data).hexdigest()
    assert a.file_size == b.file_size == len(data)
    assert load_model(str(path)).sha256 == a.sha256


def test_summary_fields_dynamic_dims_and_several_inputs():
    loaded = load_model(mf.to_bytes(mf.multi_input()))
    assert loaded.inputs == (TensorInfo("a", "float32", ("N", 8)), TensorInfo("b", "float32", ("N", 8)))
    assert loaded.outputs == (TensorInfo("y", "float32", ("N", 4)),)
    assert (loaded.ir_version, loaded.opset, loaded.opsets) == (10, 21, {"ai.onnx": 21})
    assert loaded.op_counts == {"MatMul": 2, "Add": 1}
    assert loaded.param_count == 64
    summary = loaded.summary()
    assert summary["inputs"][0] == {"name": "a", "dtype": "float32", "shape": ["N", 8]}


def test_fp16_weights_keep_their_dtype():
    loaded = load_model(mf.to_bytes(mf.fp16_weights()))
    assert {loaded.weights.dtype(n) for n in loaded.weights} == {"float16"}
    assert loaded.weights["w16"].dtype == np.float16


def test_constant_node_weights_are_found():
    """As given (normalize=False); normalized, they are initializers (tests/model/test_normalize.py)."""
    loaded = load_model(mf.to_bytes(mf.constant_weights()), normalize=False)
    assert {n: loaded.weights.kind(n) for n in loaded.weights} == {
        "cw": "constant",
        "cgw": "constant",
        "cgb": "constant",
    }
    assert loaded.weights.shape("cgb") == (4,)
    np.testing.assert_array_equal(loaded.weights["cgb"], np.float32([0.1, 0.2, 0.3, 0.4]))


def test_initializer_listed_as_graph_input_is_not_an_input():
    model = mf.mlp()
    model.graph.input.append(mf.vinfo("fc2.weight", [32, 8]))  # old exporters did this
    loaded = load_model(mf.to_bytes(model))
    assert [t.name for t in loaded.inputs] == ["x"]


def test_weight_stats_match_numpy():
    loaded = load_model(mf.to_bytes(mf.mlp()))
    stats = weight_stats(loaded).set_index("id")
    w = loaded.weights["fc1.weight"]  # Gemm transB=0: [K=16, N=32], channels on axis 1
    row = stats.loc["fc1"]
    assert (row["min"], row["max"], row["abs_max"]) == (w.min(), w.max(), np.abs(w).max())
    assert row["mean"] == pytest.approx(w.mean(dtype=np.float64))
    assert row["std"] == pytest.approx(w.std(dtype=np.float64))
    per_channel = np.abs(w).max(axis=0)
    assert row["channels"] == 32
    assert row["channel_spread"] == pytest.approx(per_channel.max() / per_channel.min())


def test_make_session_settings():
    so = session_options(threads=2)
    assert so.intra_op_num_threads == 2
    assert so.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert int(so.get_session_config_entry("optimization.constant_folding_max_output_size_in_bytes")) > 0
    sess = make_session(mf.conv_net())  # a ModelProto works too
    assert sess.get_providers() == ["CPUExecutionProvider"]


def test_int4_blocked_weight_is_described():
    w_q = onnx.helper.make_tensor("w_q", onnx.TensorProto.INT4, [8, 4], [-8, 7] * 16)
    nodes = [
        onnx.helper.make_node("DequantizeLinear", ["w_q", "s"], ["w"], axis=0, block_size=4),
        onnx.helper.make_node("MatMul", ["x", "w"], ["y"], name="mm4"),
    ]
    model = mf.make_model(
        nodes,
        [mf.vinfo("x", ["N", 8])],
        [mf.vinfo("y", ["N", 4])],
        [w_q, mf.init("s", np.full((2, 4), 0.1, np.float32))],
    )
    loaded = load_model(mf.to_bytes(model))
    row = weight_stats(loaded).iloc[0]
    assert (row["weight_dtype"], row["min"], row["max"], row["size"]) == ("int4", -8.0, 7.0, 32)
    expected = make_session(loaded.model_bytes).run(None, {"x": np.ones((1, 8), np.float32)})[0]
    np.testing.assert_allclose(expected, np.ones((1, 8)) @ (loaded.weights["w_q"].astype(np.float32) * 0.1), rtol=1e-6)


def test_bfloat16_nan_is_flagged_not_silent():
    w = onnx.helper.make_tensor("wb", onnx.TensorProto.BFLOAT16, [4, 4], [float("nan")] + [1.0] * 15)
    nodes = [
        onnx.helper.make_node("Cast", ["wb"], ["w"], to=onnx.TensorProto.FLOAT),
        onnx.helper.make_node("MatMul", ["x", "w"], ["y"]),
    ]
    loaded = load_model(mf.to_bytes(mf.make_model(nodes, [mf.vinfo("x", ["N", 4])], [mf.vinfo("y", ["N", 4])], [w])))
    assert loaded.nonfinite_weights == {"wb": 1}
    row = weight_stats(loaded).iloc[0]
    assert (row["nonfinite"], row["mean"], row["std"]) == (1, 1.0, 0.0)
