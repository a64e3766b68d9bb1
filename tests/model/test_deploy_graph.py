"""One graph, two runtimes: the Simulator quantizes exactly the tensors the deployed model does,
with the same qparams (qviz.model.simulate.deployed_graph), and the export rebuilds the deployment."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from qviz.config import PRESETS, LayerConfig
from qviz.evaluate import evaluate
from qviz.evaluate.data import from_arrays, from_sample
from qviz.evaluate.evaluation import make_runner
from qviz.evaluate.fidelity import fidelity_all
from qviz.evaluate.segments import SegmentChain
from qviz.model.deploy.deployable import deploy, deploy_overrides
from qviz.model.runtime.ort_quantizer import FeedReader, ort_quantize_kwargs
from qviz.model.runtime.session import make_session
from qviz.model.simulate.simulator import Simulator
from qviz.samples import load_sample
from qviz_dev.model_factory import init, make_model, rand, to_bytes, vinfo

W8A8 = PRESETS["w8a8"]


def mixed_ops_net() -> onnx.ModelProto:
    """x[N,3,8,8] -> Conv -> swish (Sigmoid, Mul) -> Add(bias) -> MaxPool -> Reshape, and x -> Conv ->
    Relu -> Reshape; Concat -> Softmax -> MatMul -> Transpose -> y: the ops onnxruntime's
    quantizer quantizes around besides the layers."""
    nodes = [
        helper.make_node("Conv", ["x", "c1.w", "c1.b"], ["c1"], name="c1", pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["c1"], ["sig"], name="sig"),
        helper.make_node("Mul", ["c1", "sig"], ["swish"], name="swish"),
        helper.make_node("Add", ["swish", "shift"], ["shifted"], name="shift"),
        helper.make_node("MaxPool", ["shifted"], ["pool"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Reshape", ["pool", "shape"], ["flat1"], name="flat1"),
        helper.make_node("Conv", ["x", "c2.w"], ["c2"], name="c2", strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"], name="r2"),
        helper.make_node("Reshape", ["r2", "shape"], ["flat2"], name="flat2"),
        helper.make_node("Concat", ["flat1", "flat2"], ["cat"], name="cat", axis=1),
        helper.make_node("Softmax", ["cat"], ["soft"], name="soft", axis=-1),
        helper.make_node("MatMul", ["soft", "fc.w"], ["mm"], name="fc"),
        helper.make_node("Transpose", ["mm"], ["y"], name="t", perm=[1, 0]),
    ]
    inits = [
        init("c1.w", rand((4, 3, 3, 3), 1)),
        init("c1.b", rand((4,), 2)),
        init("shift", rand((1, 4, 1, 1), 3)),
        init("shape", np.array([0, -1], np.int64)),
        init("c2.w", rand((4, 3, 3, 3), 4)),
        init("fc.w", rand((128, 6), 5)),
    ]
    return make_model(nodes, [vinfo("x", ["N", 3, 8, 8])], [vinfo("y", [6, "N"])], inits)


def _calib(n=32, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 3, 8, 8)).astype(np.float32)


def _qdq_tensors(data: bytes) -> dict[str, tuple[float, int]]:
    """{float tensor: (scale, zero point)} of every activation QuantizeLinear in a deployed model."""
    m = onnx.load_model_from_string(data)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    out = {}
    for n in m.graph.node:
        if n.op_type == "QuantizeLinear" and n.input[0] not in inits:
            name = n.input[0].removesuffix("_QuantizeLinear_Input")
            out[name] = (float(inits[n.input[1]]), int(inits[n.input[2]]))
    return out


@pytest.fixture(scope="module", params=["mixed_ops", "digits_cnn", "digits_transformer"])
def case(request):
    if request.param == "mixed_ops":
        return Simulator(to_bytes(mixed_ops_net()), _calib())
    s = load_sample(request.param)
    return Simulator(s.model_bytes, s.calibration.x)


def test_the_plan_is_the_set_of_tensors_quantize_static_quantizes_with_the_same_qparams(case):
    sim = case
    deployed = _qdq_tensors(deploy(None, W8A8, simulator=sim))
    plan = sim.graph_plan(W8A8)
    assert set(plan) == set(deployed)
    for t, (scale, zp) in deployed.items():
        assert (np.float32(scale), zp) == (np.float32(plan[t][1]), int(plan[t][2])), t


def test_mixed_ops_model_quantizes_around_every_op():
    sim = Simulator(to_bytes(mixed_ops_net()), _calib())
    plan = sim.graph_plan(W8A8)
    assert {"sig", "swish", "shifted", "cat", "soft", "y"} <= set(plan)
    assert sim.graph_plan(W8A8.with_scope("layers")) == {}
    assert sim.graph_plan(PRESETS["w8"]) == {}  # weight-only: deploy runs no quantize_static


def test_simulated_model_is_the_deployed_one_within_onnxruntimes_own_kernel_spread(case):
    """Same tensors, same qparams, same codes: the two differ by kernel rounding only (integer
    requantization, fused ops), never by a missing Q/DQ pair. Bound: twice as far as the deployed
    model is from itself run without graph optimizations, plus one output step (on the transformer
    a flipped step cascades through two blocks: 4 and 6 steps at most, 0.7 of a step on average)."""
    import onnxruntime as ort

    sim = case
    deployed = deploy(None, W8A8, simulator=sim)
    step = _qdq_tensors(deployed)[sim.proto.graph.output[0].name][0]
    x = sim.feeds()[0]
    a = make_session(sim.simulate(W8A8)).run(None, x)[0]
    b = make_session(deployed).run(None, x)[0]
    plain = ort.SessionOptions()
    plain.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    b0 = ort.InferenceSession(deployed, plain, providers=["CPUExecutionProvider"]).run(None, x)[0]
    spread = np.abs(b - b0).max()
    assert np.abs(a - b).max() <= 2 * spread + step * 1.001
    assert np.abs(a - b).mean() <= max(np.abs(b - b0).mean() * 1.5, step / 4)


@pytest.mark.parametrize("name", ["digits_cnn", "digits_transformer", "digits_mobilenet"])
def test_evaluate_reports_what_the_deployed_model_does(name):
    """The end-to-end SQNR that `evaluate` reports (segments, caches) is the deployed model's within
    1 dB, and accuracy within one sample (digits_transformer before: 38.1 dB reported, 30.0 deployed)."""
    s = load_sample(name)
    data = from_sample(s, "test")
    runner = make_runner(s.model_bytes, data, calib=s.calibration.x)
    ev = evaluate(runner, W8A8, data)
    sess = make_session(deploy(None, W8A8, simulator=runner.sim))
    outs = data.join([sess.run(None, feed) for feed in data.feeds])
    deployed = fidelity_all(runner.float_outputs(), outs)
    assert abs(ev.fidelity["sqnr_db"] - deployed["sqnr_db"]) <= 1.0
    acc = float(np.mean(np.argmax(outs[0], axis=-1) == data.labels))
    assert ev.accuracy is not None and abs(ev.accuracy - acc) <= 1 / data.n + 1e-9


def test_segments_see_the_deployed_graph_tensors():
    """A Runner cutting the model into segments gives the simulated model's outputs: the tensors
    of the plan are quantized in the segment that makes them (cache keys include the plan)."""
    sim = Simulator(to_bytes(mixed_ops_net()), _calib())
    data = from_arrays(to_bytes(mixed_ops_net()), _calib(16, 1), None, "t")
    runner = make_runner(sim, data)
    runner.chain = SegmentChain(runner, [0, 4, 9, len(sim.proto.graph.node)], "config", 3)  # three segments
    got = runner.outputs(W8A8)[0]
    want = data.join([make_session(sim.simulate(W8A8)).run(None, f) for f in data.feeds])[0]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    float_layer = W8A8.with_layer(sim.layers[-1].id, LayerConfig.float())
    assert not np.array_equal(runner.outputs(float_layer)[0], got)


def test_reduce_range_is_one_decision_for_simulation_and_deploy():
    """Forced reduce_range: the Simulator simulates the 7-bit weights deploy writes."""
    sim = Simulator(to_bytes(mixed_ops_net()), _calib(), reduce_range=True)
    assert {s.weights.bits if s.weights else None for s in sim.layer_specs(W8A8).values()} == {7}
    data = deploy(None, W8A8, simulator=sim)
    m = onnx.load_model_from_string(data)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    codes = inits["c1.w_quantized"]
    assert codes.min() >= -64 and codes.max() <= 63
    x = sim.feeds()[0]
    a = make_session(sim.simulate(W8A8)).run(None, x)[0]
    b = make_session(data).run(None, x)[0]
    assert np.abs(a - b).max() <= np.abs(b).max() / 64


@pytest.mark.parametrize("name", ["digits_cnn", "digits_transformer"])
def test_exported_overrides_rebuild_the_deployed_model_bit_for_bit(name):
    """quantize_static(model, **ort_quantize_kwargs(deploy_overrides(...))) writes a model whose
    outputs equal qviz's deployed model's bit for bit (JSON round trip included)."""
    s = load_sample(name)
    sim = Simulator(s.model_bytes, s.calibration.x)
    deployed = deploy(None, W8A8, simulator=sim)
    overrides = json.loads(json.dumps(deploy_overrides(None, W8A8, simulator=sim)))
    assert overrides["reduce_range"] is False and "ActivationSymmetric" in overrides["extra_options"]
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, quantize_static

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "q.onnx"
        quantize_static(
            onnx.load_model_from_string(s.model_bytes),
            path,
            FeedReader(sim.feeds()),
            quant_format=QuantFormat.QDQ,
            calibrate_method=CalibrationMethod.MinMax,
            **ort_quantize_kwargs(overrides),
        )
        rebuilt = path.read_bytes()
    for feed in sim.feeds()[:2]:
        a, b = make_session(deployed).run(None, feed)[0], make_session(rebuilt).run(None, feed)[0]
        np.testing.assert_array_equal(a, b)


def test_a_model_onnxruntimes_quantizer_refuses_simulates_its_layer_inputs_and_says_so():
    """Non-finite weights make quantize_static assert ("scale issue"): the dry run fails, the
    simulation goes on with the layers' inputs only, and config_notes says why; deploy says why too."""
    from qviz.quant.spec import SpecError
    from qviz_dev.hostile_models import nonfinite_stack

    sim = Simulator(to_bytes(nonfinite_stack()), None)
    assert sim.graph_plan(W8A8) == {}
    assert sim.simulate(W8A8)
    assert any("only the layers' inputs are simulated" in n for n in sim.config_notes(W8A8))
    with pytest.raises(SpecError, match="quantize_static could not quantize"):
        deploy(None, W8A8, simulator=sim)


def test_evaluate_paths_simulate_the_reduced_weights_too():
    """With reduce_range, every Runner path (one layer's switchable suffix, the segment chain) runs
    the 7-bit weights Simulator.build and deploy use."""
    sim = Simulator(to_bytes(mixed_ops_net()), _calib(), reduce_range=True)
    data = from_arrays(to_bytes(mixed_ops_net()), _calib(16, 1), None, "t")
    runner = make_runner(sim, data)
    one = PRESETS["fp32"].with_layer(sim.layers[-1].id, W8A8.default)  # one QDQ layer: the suffix path
    for config in (one, W8A8):
        got = runner.outputs(config)[0]
        want = data.join([make_session(sim.simulate(config)).run(None, f) for f in data.feeds])[0]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
