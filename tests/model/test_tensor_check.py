"""qviz.model.deploy.tensor_check: the deployed model's tensors against the simulation's, with reasons."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

from qviz.config import PRESETS
from qviz.model.deploy import tensor_check as dc
from qviz.model.simulate.simulator import Simulator
from qviz.samples import load_sample
from qviz_dev import model_factory as mf


def add_mul_net() -> onnx.ModelProto:
    """x[N,16] -> fc0 -> Add(bias tensor) -> Mul(0.5) -> fc1 -> y: onnxruntime's quantizer also
    quantizes the Add and Mul outputs, which a layer-inputs-only simulation leaves float."""
    nodes = [
        helper.make_node("MatMul", ["x", "w0"], ["h0"], name="fc0"),
        helper.make_node("Add", ["h0", "b0"], ["h1"], name="add"),
        helper.make_node("Mul", ["h1", "half"], ["h2"], name="mul"),
        helper.make_node("MatMul", ["h2", "w1"], ["y"], name="fc1"),
    ]
    inits = [
        mf.init("w0", mf.rand((16, 16), 1)),
        mf.init("b0", mf.rand((16,), 2)),
        mf.init("half", np.float32(0.5)),
        mf.init("w1", mf.rand((16, 8), 3)),
    ]
    return mf.make_model(nodes, [mf.vinfo("x", ["N", 16])], [mf.vinfo("y", ["N", 8])], inits)


def feeds(n: int = 32) -> list[dict]:
    return [{"x": mf.rand((n, 16), 7, scale=1.0)}]


@pytest.fixture(scope="module")
def cnn():
    sample = load_sample("digits_cnn")
    sim = Simulator(sample.model_bytes, sample.calibration.x)
    return sim, dc.check_deployment(sim, PRESETS["w8a8"], [{"input": sample.test.x[:32]}], reduce_range=False)


def test_every_tensor_onnxruntime_quantizes_is_listed_with_the_same_kernels(cnn):
    sim, check = cnn
    rows = {r.tensor: r for r in check.tensors}
    assert check.kernels_kept and not check.notes  # exposing the codes kept the QLinear kernels
    assert "logits" in rows  # a graph output is quantized as logits_QuantizeLinear_Input: mapped back
    assert rows["input"].passed and rows["input"].max_steps < 1e-3  # float32 rounding of q * scale only
    weights = [r for r in check.tensors if r.kind == "weight"]
    assert len(weights) == len(sim.layers) and all(r.passed for r in weights)  # the engine's codes, deployed
    assert [r.passed for r in check.tensors] == sorted(r.passed for r in check.tensors)  # failing rows first
    assert all(r.reason for r in check.tensors if not r.passed)
    assert len(check.float_outputs) == len(check.deployed_outputs) == 1


def test_a_tensor_the_simulation_leaves_float_is_named(monkeypatch):
    """Add/Mul outputs: a simulation that quantizes nothing there gets the reason, whatever the Simulator does."""
    sim = Simulator(mf.to_bytes(add_mul_net()), feeds(64)[0]["x"])
    float_model = onnx.load_model_from_string(sim.loaded.model_bytes)
    monkeypatch.setattr(sim, "build", lambda config, base=None: float_model)  # the float model as "simulation"
    check = dc.check_deployment(sim, PRESETS["w8a8"], feeds(), reduce_range=False)
    rows = {r.tensor: r for r in check.tensors}
    for name in ("h1", "h2"):  # the Add and Mul outputs
        assert not rows[name].simulated_quantizes and not rows[name].passed
        assert rows[name].reason == dc.NOT_SIMULATED


def test_add_mul_model_rows_pass_or_say_why():
    sim = Simulator(mf.to_bytes(add_mul_net()), feeds(64)[0]["x"])
    check = dc.check_deployment(sim, PRESETS["w8a8"], feeds(), reduce_range=False)
    rows = {r.tensor: r for r in check.tensors}
    assert {"x", "h1", "h2"} <= set(rows)
    for r in check.tensors:
        assert r.passed or r.reason, r.tensor
        assert r.simulated.size == r.deployed.size > 0


def test_reduce_range_weights_are_off_the_simulated_grid(cnn):
    sim, _ = cnn
    check = dc.check_deployment(
        sim, PRESETS["w8a8"], [{"input": load_sample("digits_cnn").test.x[:8]}], reduce_range=True
    )
    weights = [r for r in check.tensors if r.kind == "weight"]
    assert weights and all(not r.passed and "reduce_range" in r.reason for r in weights)


def chain_graph(in_place: bool) -> tuple[onnx.ModelProto, onnx.ModelProto]:
    """(float model, simulated model): Relu -> h -> Conv-like reader; the simulation inserts Div/Mul
    after h (readers rewired) or in h's place (the producer writes h_float, the chain writes h)."""
    s = mf.init("s", np.float32(0.1))
    fnodes = [helper.make_node("Relu", ["x"], ["h"], name="relu"), helper.make_node("Neg", ["h"], ["y"], name="neg")]
    io = ([mf.vinfo("x", [2])], [mf.vinfo("y", [2])])
    float_model = mf.make_model(fnodes, *io)
    if in_place:
        snodes = [
            helper.make_node("Relu", ["x"], ["h_float"], name="relu"),
            helper.make_node("Div", ["h_float", "s"], ["h_div"], name="h_qviz_div"),
            helper.make_node("Mul", ["h_div", "s"], ["h"], name="h_qviz_mul"),
            helper.make_node("Neg", ["h"], ["y"], name="neg"),
        ]
    else:
        snodes = [
            helper.make_node("Relu", ["x"], ["h"], name="relu"),
            helper.make_node("Div", ["h", "s"], ["h_div"], name="h_qviz_div"),
            helper.make_node("Mul", ["h_div", "s"], ["h_q"], name="h_qviz_mul"),
            helper.make_node("Neg", ["h_q"], ["y"], name="neg"),
        ]
    return float_model, mf.make_model(snodes, *io, [s])


def test_simulated_value_reads_both_ways_of_inserting_a_quantization():
    f, after = chain_graph(in_place=False)
    assert dc._simulated_value(after, f, "h") == ("h_q", True)
    f, in_place = chain_graph(in_place=True)
    assert dc._simulated_value(in_place, f, "h") == ("h", True)
    assert dc._simulated_value(f, f, "h") == ("h", False)


def test_tensor_check_counts_steps_and_the_grid():
    row = dc.TensorCheck("t", "activation", 0.5)
    row.add(np.array([0.0, 0.5, 1.5]), np.array([0.0, 0.5, 0.0]), np.float64(0.5))
    assert row.max_steps == 3.0 and row.over_one_step == 1 and row.on_grid and not row.passed
    off = dc.TensorCheck("u", "activation", 0.5)
    off.add(np.array([0.2]), np.array([0.0]), np.float64(0.5))  # 0.4 of a step: not on the deployed grid
    assert off.over_one_step == 0 and not off.on_grid and not off.passed


def test_reasons_follow_the_upstream_tensors_and_the_kernel():
    def row(name, steps, over=0):
        r = dc.TensorCheck(name, "activation", 1.0)
        r.max_steps, r.over_one_step, r.elements = steps, over, 10
        return r

    t = row("t", 3.0, 2)
    failed, rounded, exact = row("a", 5.0, 1), row("b", 1.0), row("c", 0.0)
    assert dc._reason(t, [failed], ("HardSwish",), None, True, False, False).startswith(
        "carried from upstream 'a' through HardSwish"
    )
    assert "amplified by the float ops through HardSwish" in dc._reason(
        t, [rounded], ("HardSwish",), "QuantizeLinear", True, False, False
    )
    small = row("s", 2.0, 1)
    assert dc._reason(small, [exact], ("Conv",), "QLinearConv", True, False, False).startswith("kernel requantization")
    assert dc._reason(row("u", 40.0, 9), [exact], ("Conv",), "QLinearConv", True, False, False).startswith(
        "no reason found: QLinearConv differs by 40 steps"
    )
    assert "int16 saturation" in dc._reason(small, [exact], ("Conv",), "QLinearConv", False, False, False)
    assert dc._reason(small, [exact], ("Add",), "QLinearAdd", True, False, False).startswith("fused kernel QLinearAdd")


def test_data_movement_outputs_share_their_sources_grid():
    """A Reshape/Transpose/Split of a quantized tensor shares its scale in the deployed graph; the
    Simulator does not quantize it again (its values are on that grid already): it is quantized in
    the simulation, not reported "not quantized in the simulation"."""
    sample = load_sample("digits_transformer")
    sim = Simulator(sample.model_bytes, sample.calibration.x)
    check = dc.check_deployment(sim, PRESETS["w8a8"], [{"input": sample.test.x[:16]}], reduce_range=False)
    rows = {r.tensor: r for r in check.tensors}
    moved = [t for t in rows if any(op in t for op in ("/Reshape", "/Transpose", "/Split", "/Squeeze"))]
    assert moved
    assert all(rows[t].simulated_quantizes for t in moved), [t for t in moved if not rows[t].simulated_quantizes]
