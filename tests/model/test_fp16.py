"""float16 models stay float16: quantized from their float16 weights, simulated with float16
scales (what onnxruntime's DequantizeLinear computes), deployed fp16 -> int8 by onnxruntime's
quantize_static with float16 scales."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from qviz.config import PRESETS
from qviz.model import make_session
from qviz.model.deploy.deployable import deploy, deployable
from qviz.model.deploy.kernels import integer_ops_report
from qviz.model.simulate.simulator import Simulator
from qviz.quant import QuantSpec, quantize
from qviz_dev.model_factory import fp16_weights, init, make_model, rand, to_bytes, vinfo

F16 = TensorProto.FLOAT16


def fp16_conv_net():
    """x[N,4,6,6] float16 -> Conv 'conv1' (W [8,4,3,3] fp16, bias, pad 1) -> Relu -> Conv 'conv2'
    (W [6,8,3,3] fp16, bias) -> y[N,6,4,4] float16. Everything float16, as people ship fp16 models."""
    nodes = [
        helper.make_node("Conv", ["x", "c1.w", "c1.b"], ["h"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Conv", ["r", "c2.w", "c2.b"], ["y"], name="conv2"),
    ]
    inits = [
        init("c1.w", rand((8, 4, 3, 3), 31, np.float16)),
        init("c1.b", rand((8,), 32, np.float16)),
        init("c2.w", rand((6, 8, 3, 3), 33, np.float16)),
        init("c2.b", rand((6,), 34, np.float16)),
    ]
    return make_model(nodes, [vinfo("x", ["N", 4, 6, 6], F16)], [vinfo("y", ["N", 6, 4, 4], F16)], inits)


def _calib(n=4):
    return [{"x": rand((8, 4, 6, 6), 40 + i, np.float16)} for i in range(n)]


def _ort_dequantize(q: np.ndarray, scale16: np.ndarray, axis: int) -> np.ndarray:
    """onnxruntime's DequantizeLinear of int8 codes with a float16 scale (the oracle)."""
    node = helper.make_node("DequantizeLinear", ["q", "s"], ["y"], axis=axis)
    graph = helper.make_graph(
        [node], "dq", [], [vinfo("y", None, F16)], [init("q", q.astype(np.int8)), init("s", scale16.reshape(-1))]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    return make_session(model.SerializeToString(), check=False).run(None, {})[0]


def test_simulated_fp16_weights_are_what_onnxruntime_dequantizes():
    spec = QuantSpec(bits=8, granularity="channel")
    sim = Simulator(to_bytes(fp16_conv_net()), _calib())
    layer = sim.layers[0]
    x_dq = sim.dequantized_weight(layer, spec.replace(axis=0))
    r = quantize(sim.loaded.weights["c1.w"].astype(np.float32), spec.replace(axis=0))
    want = _ort_dequantize(r.q, np.asarray(r.scale, np.float32).astype(np.float16), axis=0)
    assert x_dq.dtype == np.float16
    np.testing.assert_array_equal(x_dq, want)


def test_fp16_activation_scales_are_float16():
    sim = Simulator(to_bytes(fp16_conv_net()), _calib())
    scale, _ = sim.qparams("x", PRESETS["w8a8"].default.activations)
    assert float(np.float16(scale)) == float(scale)


def test_fp16_model_deploys_w8a8_and_stays_fp16():
    """Before: refused with a message about "a Constant node or a Cast". Now onnxruntime's
    quantize_static quantizes the float16 graph (int8 weights, float16 scales); the CPU runs
    DQ -> Conv -> Q in float (no float16 QDQ fusion): "float fallback"."""
    m = fp16_conv_net()
    sim = Simulator(to_bytes(m), _calib())
    assert deployable(PRESETS["w8a8"], sim.layers) == []
    data = deploy(None, PRESETS["w8a8"], simulator=sim, reduce_range=False)
    out = onnx.load_model_from_string(data)
    assert [v.type.tensor_type.elem_type for v in (*out.graph.input, *out.graph.output)] == [F16, F16]
    inits = {t.name: t for t in out.graph.initializer}
    dqs = [n for n in out.graph.node if n.op_type == "DequantizeLinear"]
    weights = [n for n in dqs if inits.get(n.input[0]) is not None and len(inits[n.input[0]].dims) == 4]
    assert len(weights) == 2 and all(inits[n.input[0]].data_type == TensorProto.INT8 for n in weights)
    assert all(inits[n.input[1]].data_type == F16 for n in dqs if n.input[1] in inits)
    assert integer_ops_report(data) == {"conv1": "float fallback", "conv2": "float fallback"}
    # the engine's codes, as simulated
    r = quantize(sim.loaded.weights["c1.w"].astype(np.float32), PRESETS["w8a8"].default.weights.replace(axis=0))
    w1 = next(n for n in weights if numpy_helper.to_array(inits[n.input[0]]).shape == (8, 4, 3, 3))
    np.testing.assert_array_equal(numpy_helper.to_array(inits[w1.input[0]]), r.q)


def test_fp16_simulated_and_deployed_agree_within_one_output_step():
    """Same float16 activation scales, same codes, same float16 weight scales: the deployed
    model differs from the simulated one by the Q/DQ onnxruntime adds after each Conv (half a
    step of that tensor each) and float16 rounding; one output step bounds it here (the
    simulation itself is 1.3-1.8 steps away from the float model)."""
    m = fp16_conv_net()
    calib = _calib()
    sim = Simulator(to_bytes(m), calib)
    data = deploy(None, PRESETS["w8a8"], simulator=sim, reduce_range=False)
    out = onnx.load_model_from_string(data)
    y_dq = next(n for n in out.graph.node if n.output[0] == "y")
    step = float(numpy_helper.to_array(next(t for t in out.graph.initializer if t.name == y_dq.input[1])))
    ref = make_session(to_bytes(m)).run(None, calib[0])[0].astype(np.float32)
    a = make_session(sim.simulate(PRESETS["w8a8"])).run(None, calib[0])[0].astype(np.float32)
    b = make_session(data).run(None, calib[0])[0].astype(np.float32)
    # both quantize y now (scope "graph"): they differ by whole steps, one at most (plus float16 rounding)
    assert np.abs(a - b).max() <= step * 1.05  # measured: 1.03 of a step
    assert np.abs(a - ref).max() > 0  # the simulation did quantize


@pytest.mark.parametrize("preset", ["w8", "w4g32"])
def test_fp16_weight_only_deploy_equals_simulation(preset):
    m = fp16_conv_net()
    sim = Simulator(to_bytes(m), _calib())
    feed = _calib(1)[0]
    want = make_session(sim.simulate(PRESETS[preset])).run(None, feed)[0]
    data = deploy(None, PRESETS[preset], simulator=sim)
    got = make_session(data, optimization_level=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC).run(None, feed)[0]
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, want)


def test_fp16_storage_behind_a_cast_deploys_w8a8():
    """fp16_weights: MatMul 'mm' reads Cast(float16 weight -> float32); Gemm 'g16' runs in float16."""
    m = fp16_weights()
    feeds = [{"x": rand((4, 16), i)} for i in range(3)]
    sim = Simulator(to_bytes(m), feeds)
    data = deploy(None, PRESETS["w8a8"], simulator=sim)
    assert integer_ops_report(data) == {"mm": "integer", "g16": "float fallback"}
    ref = make_session(to_bytes(m)).run(None, feeds[0])[0].astype(np.float32)
    got = make_session(data).run(None, feeds[0])[0].astype(np.float32)
    assert np.abs(got - ref).max() < 0.05 * np.abs(ref).max()


def test_fp16_model_is_deployable_and_the_fp16_preset_changes_nothing():
    m = fp16_conv_net()
    sim = Simulator(to_bytes(m), _calib())
    data = deploy(None, PRESETS["fp16"], simulator=sim)
    assert [n.op_type for n in onnx.load_model_from_string(data).graph.node] == ["Conv", "Relu", "Conv"]
    assert deployable(PRESETS["w8a8"], sim.layers, sim.loaded.weights) == []  # before: "a Constant node or a Cast"
