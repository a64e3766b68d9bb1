"""Layers everywhere (issue 17): inside If/Loop/Scan bodies, LSTM/GRU, ConvTranspose — found,
simulated (checked against onnxruntime and the engine) and deployed, each layer in the form
onnxruntime runs or a simulation-only fallback that does not stop the others."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from qviz.config import PRESETS, LayerConfig, ModelConfig
from qviz.evaluate import evaluate, from_arrays
from qviz.model import layer_table, load_model, make_session
from qviz.model.deploy.deployable import deploy, deploy_notes, deployable
from qviz.model.deploy.kernels import integer_ops_report
from qviz.model.load.subgraphs import graph_at
from qviz.model.simulate.simulator import Simulator
from qviz.model.simulate.taps import Tap, collect_taps
from qviz.quant import QuantSpec, fake_quantize, quantize
from qviz_dev.model_factory import init, make_model, rand, to_bytes, vinfo

THEN = ((1, "then_branch", -1),)
ELSE = ((1, "else_branch", -1),)


def silero_like():
    """x[N,4,8], sr 0-d int64 (Silero VAD style: every layer inside If branches).
    If_0 (sr == 16000): then: Conv 'enc' (W 'w' inside the branch) -> Relu -> unnamed Conv (W 'w2'
    inside); else: Conv 'enc' (another 'w' inside) -> Relu -> unnamed Conv reading the main graph's
    'w_outer' (outer scope). Then ReduceMean and Gemm 'head' in the main graph."""

    def branch(name, seed, second):
        nodes = [
            helper.make_node("Conv", ["x", "w", "b"], [f"{name}_c"], name="enc", pads=[1, 1]),
            helper.make_node("Relu", [f"{name}_c"], [f"{name}_r"]),
            helper.make_node("Conv", [f"{name}_r", second], [f"{name}_y"], pads=[1, 1]),
        ]
        inits = [init("w", rand((6, 4, 3), seed)), init("b", rand((6,), seed + 1))]
        if second == "w2":
            inits.append(init("w2", rand((5, 6, 3), seed + 2)))
        return helper.make_graph(nodes, name, [], [vinfo(f"{name}_y", None)], inits)

    nodes = [
        helper.make_node("Equal", ["sr", "sr16k"], ["is16k"]),
        helper.make_node(
            "If",
            ["is16k"],
            ["h"],
            name="If_0",
            then_branch=branch("then", 1, "w2"),
            else_branch=branch("else", 5, "w_outer"),
        ),
        helper.make_node("ReduceMean", ["h", "axes"], ["p"], keepdims=0),
        helper.make_node("Gemm", ["p", "head.weight"], ["y"], name="head", transB=1),
    ]
    inits = [
        init("sr16k", np.int64(16000)),
        init("w_outer", rand((5, 6, 3), 9)),
        init("axes", np.array([2], np.int64)),
        init("head.weight", rand((3, 5), 10)),
    ]
    inputs = [vinfo("x", ["N", 4, 8]), vinfo("sr", [], TensorProto.INT64)]
    return make_model(nodes, inputs, [vinfo("y", ["N", 3])], inits)


def _feeds(n=3, sr=16000, seed=0):
    return [{"x": rand((4, 4, 8), seed + i), "sr": np.array(sr, np.int64)} for i in range(n)]


def loop_net():
    """x[N,4] -> Loop 'loop' (3 iterations): h = Relu(MatMul 'step'(h, outer-scope 'step.weight' [4,4]))
    -> Gemm 'out' (W [2,4], transB) -> y[N,2]."""
    body = helper.make_graph(
        [
            helper.make_node("MatMul", ["h_in", "step.weight"], ["mm"], name="step"),
            helper.make_node("Relu", ["mm"], ["h_out"]),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        ],
        "body",
        [vinfo("i", [], TensorProto.INT64), vinfo("cond_in", [], TensorProto.BOOL), vinfo("h_in", None)],
        [vinfo("cond_out", [], TensorProto.BOOL), vinfo("h_out", None)],
    )
    nodes = [
        helper.make_node("Loop", ["trip", "", "x"], ["h"], name="loop", body=body),
        helper.make_node("Gemm", ["h", "out.weight"], ["y"], name="out", transB=1),
    ]
    inits = [init("trip", np.int64(3)), init("step.weight", rand((4, 4), 11)), init("out.weight", rand((2, 4), 12))]
    return make_model(nodes, [vinfo("x", ["N", 4])], [vinfo("y", ["N", 2])], inits)


def scan_net():
    """s0[N,3], x[N,5,4] scanned along axis 1: body s += MatMul(x_t, 'sw' [4,3] inside the body), unnamed."""
    body = helper.make_graph(
        [
            helper.make_node("MatMul", ["x_t", "sw"], ["y_t"]),
            helper.make_node("Add", ["s_in", "y_t"], ["s_out"]),
            helper.make_node("Identity", ["y_t"], ["y_t2"]),
        ],
        "sbody",
        [vinfo("s_in", None), vinfo("x_t", None)],
        [vinfo("s_out", None), vinfo("y_t2", None)],
        [init("sw", rand((4, 3), 13))],
    )
    node = helper.make_node(
        "Scan",
        ["s0", "x"],
        ["s", "ys"],
        name="scan",
        body=body,
        num_scan_inputs=1,
        scan_input_axes=[1],
        scan_output_axes=[1],
    )
    return make_model(
        [node], [vinfo("s0", ["N", 3]), vinfo("x", ["N", 5, 4])], [vinfo("s", ["N", 3]), vinfo("ys", ["N", 5, 3])]
    )


def rnn_net(op: str):
    """X[3,N,4] -> LSTM/GRU 'rnn' (hidden 5) -> Y[3,1,N,5] -> Reshape [-1,5] -> Gemm 'fc' (W [2,5]) -> z."""
    gates = 4 if op == "LSTM" else 3
    nodes = [
        helper.make_node(op, ["X", "W", "R", "B"], ["Y"], name="rnn", hidden_size=5),
        helper.make_node("Reshape", ["Y", "shape"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc.weight"], ["z"], name="fc", transB=1),
    ]
    inits = [
        init("W", rand((1, gates * 5, 4), 21)),
        init("R", rand((1, gates * 5, 5), 22)),
        init("B", rand((1, 2 * gates * 5), 23)),
        init("shape", np.array([-1, 5], np.int64)),
        init("fc.weight", rand((2, 5), 24)),
    ]
    return make_model(nodes, [vinfo("X", [3, "N", 4])], [vinfo("z", ["M", 2])], inits)


def conv_transpose(group=1):
    """x[N,4,5,5] -> ConvTranspose 'up' (W [4, 2, 3, 3], stride 2, bias) -> y."""
    out = 2 * group
    nodes = [helper.make_node("ConvTranspose", ["x", "up.w", "up.b"], ["y"], name="up", strides=[2, 2], group=group)]
    inits = [init("up.w", rand((4, 2, 3, 3), 6)), init("up.b", rand((out,), 7))]
    return make_model(nodes, [vinfo("x", ["N", 4, 5, 5])], [vinfo("y", ["N", out, 11, 11])], inits)


# ----- the layer table -----


def test_layers_inside_if_branches_are_found_with_readable_ids():
    loaded = load_model(to_bytes(silero_like()))
    rows = [(x.id, x.op_type, x.weight_name, x.graph, x.graph_path, x.position, x.macs) for x in layer_table(loaded)]
    assert rows == [
        ("If_0/else_branch/enc", "Conv", "w", "If_0/else_branch", ELSE, 0, 6 * 8 * 12),
        ("If_0/else_branch/Conv#2", "Conv", "w_outer", "If_0/else_branch", ELSE, 2, 5 * 8 * 18),
        ("If_0/then_branch/enc", "Conv", "If_0/then_branch/w", "If_0/then_branch", THEN, 0, 6 * 8 * 12),
        ("If_0/then_branch/Conv#2", "Conv", "w2", "If_0/then_branch", THEN, 2, 5 * 8 * 18),
        ("head", "Gemm", "head.weight", "", (), 3, 15),
    ]
    # the two branches' 'w' are different tensors under different keys
    then_w = numpy_helper.to_array(graph_at(loaded.model.graph, THEN).initializer[0])
    np.testing.assert_array_equal(loaded.weights["If_0/then_branch/w"], then_w)
    assert loaded.param_count == sum(loaded.weights.size(n) for n in loaded.weights) > 3 * 5 + 5 * 6 * 3


def test_layers_inside_loop_and_scan_bodies_are_found():
    loop = [(x.id, x.graph, x.weight_name) for x in layer_table(load_model(to_bytes(loop_net())))]
    assert loop == [("step", "loop/body", "step.weight"), ("out", "", "out.weight")]
    scan = [(x.id, x.graph, x.weight_name, x.inputs) for x in layer_table(load_model(to_bytes(scan_net())))]
    assert scan == [("scan/body/MatMul#0", "scan/body", "sw", ("x_t",))]


# ----- simulation -----


def test_subgraph_weights_are_engine_dequantized_in_their_branch():
    spec = QuantSpec(bits=4, granularity="channel")
    sim = Simulator(to_bytes(silero_like()), _feeds())
    built = sim.build(ModelConfig(default=LayerConfig(spec, None)))
    then = graph_at(built.graph, THEN)
    conv = next(n for n in then.node if n.name == "enc")
    inits = {t.name: numpy_helper.to_array(t) for t in then.initializer}
    want = quantize(sim.loaded.weights["If_0/then_branch/w"], spec.replace(axis=0)).x_dq
    np.testing.assert_array_equal(inits[conv.input[1]], want)
    onnx.checker.check_model(built, full_check=True)


def test_calibration_taps_the_branch_that_ran():
    """The input of the then-branch's second Conv ('then_r') as onnxruntime computes it in a
    model where the branch's nodes are in the main graph; the else branch never ran: no range."""
    m = silero_like()
    sim = Simulator(to_bytes(m), _feeds())
    flat_nodes = list(graph_at(m.graph, THEN).node)[:2]
    flat = make_model(
        flat_nodes, [vinfo("x", ["N", 4, 8])], [vinfo("then_r", None)], list(graph_at(m.graph, THEN).initializer)
    )
    want = np.concatenate([make_session(to_bytes(flat), check=False).run(None, {"x": f["x"]})[0] for f in _feeds()])
    layers = {x.id: x for x in sim.layers}
    np.testing.assert_array_equal(sim.activations()[sim.activation_key(layers["If_0/then_branch/Conv#2"])], want)
    assert sim.uncalibrated(layers["If_0/else_branch/Conv#2"])
    sim.build(PRESETS["w8a8"])
    assert "never ran" in sim.notes["If_0/else_branch/Conv#2"]


def _tapped(model: onnx.ModelProto, path, name: str, feeds) -> np.ndarray:
    out = collect_taps(model, [Tap(path, name, TensorProto.FLOAT)], feeds)[0]
    assert out is not None
    return out


def test_subgraph_activation_nodes_match_engine():
    """The tensor the then-branch's Conv#2 reads in the simulated model (fetched by onnxruntime
    through a tap) is the engine's fake-quantization of its float input."""
    spec = QuantSpec(bits=6, signed=False, symmetric=False)
    feeds = _feeds()
    sim = Simulator(to_bytes(silero_like()), feeds)
    layer = next(x for x in sim.layers if x.id == "If_0/then_branch/Conv#2")
    built = sim.build(ModelConfig().with_layer(layer.id, LayerConfig(None, spec)))
    read = next(n for n in graph_at(built.graph, THEN).node if n.op_type == "Conv" and n.input[1] == "w2")
    got = _tapped(built, THEN, read.input[0], feeds)
    scale, zp = sim.qparams(sim.activation_key(layer), spec)
    want = fake_quantize(_tapped(sim.proto, THEN, "then_r", feeds), scale, zp, spec.qmin, spec.qmax)
    np.testing.assert_array_equal(got, want)


def test_loop_body_calibration_merges_iterations():
    feeds = [{"x": rand((2, 4), i)} for i in range(3)]
    sim = Simulator(to_bytes(loop_net()), feeds)
    step = sim.layers[0]
    acts = sim.activations()[sim.activation_key(step)]
    assert acts.shape == (3 * 3 * 2, 4)  # feeds x iterations x rows
    np.testing.assert_array_equal(acts[:2], feeds[0]["x"])  # the first iteration reads x itself
    data = sim.simulate(PRESETS["w8a8"])
    ref = make_session(to_bytes(loop_net())).run(None, feeds[0])[0]
    got = make_session(data).run(None, feeds[0])[0]
    assert 0 < np.abs(got - ref).max() < 0.05 * np.abs(ref).max()


def test_scan_body_layer_simulates():
    feeds = [{"s0": rand((2, 3), i), "x": rand((2, 5, 4), i + 10)} for i in range(3)]
    sim = Simulator(to_bytes(scan_net()), feeds)
    assert sim.activations()[sim.activation_key(sim.layers[0])].shape == (3 * 5 * 2, 4)
    ref = make_session(to_bytes(scan_net())).run(None, feeds[0])
    got = make_session(sim.simulate(PRESETS["w8a8"])).run(None, feeds[0])
    assert 0 < np.abs(got[1] - ref[1]).max() < 0.05 * np.abs(ref[1]).max()


def test_evaluate_runs_subgraph_layers_and_one_layer_configs():
    feeds = _feeds()
    sim = Simulator(to_bytes(silero_like()), feeds)
    data = from_arrays(sim.loaded, {"x": np.concatenate([f["x"] for f in feeds]), "sr": np.array(16000, np.int64)})
    full = evaluate(None, PRESETS["w8"], data, simulator=sim)
    assert full.fidelity["sqnr_db"] < 80 and full.size.bits_per_weight < 16
    one = ModelConfig().with_layer("If_0/then_branch/enc", LayerConfig(QuantSpec(bits=2, granularity="channel"), None))
    assert evaluate(None, one, data, simulator=sim).fidelity["sqnr_db"] < full.fidelity["sqnr_db"]


# ----- deployment -----


def test_subgraph_layers_deploy_weight_only_and_main_graph_layers_qdq():
    sim = Simulator(to_bytes(silero_like()), _feeds())
    notes = deploy_notes(PRESETS["w8a8"], sim.layers)
    assert deployable(PRESETS["w8a8"], sim.layers) == [] and len(notes) == 4
    assert all("inside If/Loop/Scan bodies" in n and n.endswith("deployed as weight_only") for n in notes)
    data = deploy(None, PRESETS["w8a8"], simulator=sim, reduce_range=False)
    report = integer_ops_report(data)
    assert report["head"] == "integer"
    assert {report[k] for k in report if k != "head"} == {"float fallback"}
    out = onnx.load_model_from_string(data)
    if_node = next(n for n in out.graph.node if n.op_type == "If")  # quantize_static moved it
    then = next(a.g for a in if_node.attribute if a.name == "then_branch")
    assert [n.op_type for n in then.node].count("DequantizeLinear") == 2


@pytest.mark.parametrize("preset", ["w8", "w4g32"])
def test_subgraph_weight_only_equals_simulation(preset):
    feeds = _feeds()
    sim = Simulator(to_bytes(silero_like()), feeds)
    want = make_session(sim.simulate(PRESETS[preset])).run(None, feeds[0])
    data = deploy(None, PRESETS[preset], simulator=sim)
    got = make_session(data, optimization_level=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC).run(None, feeds[0])
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_rnn_deploys_weight_only_without_stopping_the_other_layers(op):
    m = rnn_net(op)
    feeds = [{"X": rand((3, 2, 4), i)} for i in range(3)]
    sim = Simulator(to_bytes(m), feeds)
    gates = 4 if op == "LSTM" else 3
    assert [(x.id, x.weight_shape, x.channel_axis) for x in sim.layers] == [
        ("rnn:W", (1, gates * 5, 4), 1),
        ("rnn:R", (1, gates * 5, 5), 1),
        ("fc", (2, 5), 0),
    ]
    notes = deploy_notes(PRESETS["w8a8"], sim.layers)
    assert [n.split("'")[1] for n in notes] == ["rnn:W", "rnn:R"]
    assert ("DynamicQuantizeLSTM" if op == "LSTM" else "no quantized GRU") in notes[0]
    data = deploy(None, PRESETS["w8a8"], simulator=sim)
    assert integer_ops_report(data) == {"rnn:W": "float fallback", "rnn:R": "float fallback", "fc": "integer"}
    ref = make_session(to_bytes(m)).run(None, feeds[0])[0]
    got = make_session(data).run(None, feeds[0])[0]
    assert np.abs(got - ref).max() < 0.05 * np.abs(ref).max()


def test_conv_transpose_deploys_qdq_with_engine_weights():
    """ConvTranspose is in onnxruntime's QDQ registry: weights per channel along axis 1 (the
    engine's codes), activations from qviz's calibration; the CPU runs it in float between Q/DQ.
    Deployed and simulated agree within one output step (as test_deploy's Conv)."""
    m = conv_transpose()
    x = [{"x": rand((8, 4, 5, 5), i)} for i in range(2)]
    sim = Simulator(to_bytes(m), x)
    lc = PRESETS["w8a8"].default
    config = PRESETS["w8a8"].with_default(LayerConfig(lc.weights.replace(bits=7), lc.activations))
    assert deploy_notes(config, sim.layers) == []
    data = deploy(None, config, simulator=sim, reduce_range=False)
    out = onnx.load_model_from_string(data)
    inits = {t.name: numpy_helper.to_array(t) for t in out.graph.initializer}
    w_dq = next(
        n
        for n in out.graph.node
        if n.op_type == "DequantizeLinear" and inits.get(n.input[0]) is not None and inits[n.input[0]].ndim == 4
    )
    r = quantize(sim.loaded.weights["up.w"], config.default.weights.replace(axis=1))
    np.testing.assert_array_equal(inits[w_dq.input[0]], r.q)
    assert next(a.i for a in w_dq.attribute if a.name == "axis") == 1
    out_dq = next(n for n in out.graph.node if n.output[0] == "y")
    step = float(inits[out_dq.input[1]])
    for feed in x:
        a = make_session(sim.simulate(config)).run(None, feed)[0]
        b = make_session(data).run(None, feed)[0]
        assert np.abs(a - b).max() <= step * 1.0001


def test_grouped_conv_transpose_per_channel_deploys_weight_only():
    sim = Simulator(to_bytes(conv_transpose(group=2)), [{"x": rand((2, 4, 5, 5), 1)}])
    notes = deploy_notes(PRESETS["w8a8"], sim.layers, sim.proto)
    assert len(notes) == 1 and "grouped ConvTranspose" in notes[0]
    data = deploy(None, PRESETS["w8a8"], simulator=sim)
    assert integer_ops_report(data) == {"up": "float fallback"}


def test_export_page_lists_simulation_only_layers():
    """An uploaded LSTM model under w8a8: the Export page says which layers deploy in a nearer
    form and why, and still builds the deployable model."""
    from qviz.ui import i18n
    from qviz_dev.app_pages import open_page, texts, upload

    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "rnn.onnx", to_bytes(rnn_net("LSTM")))
    at.session_state["model_config"] = PRESETS["w8a8"].to_json()
    at.switch_page("qviz/views/export.py")
    at.run()
    assert not at.exception and not at.error
    assert i18n.translate("exp_simulation_only", n=2) in texts(at, kinds=("info",))
    notes = [str(x) for x in at.dataframe[0].value.iloc[:, 0]]
    assert [n.split("'")[1] for n in notes] == ["rnn:W", "rnn:R"]
