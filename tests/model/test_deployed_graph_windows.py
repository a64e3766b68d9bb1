"""The windowed dry run (qviz.model.simulate.dry_run_windows) answers exactly what one dry run of
the whole graph answers (deployed_graph.find_deployed_tensors_full, the oracle), with tiny windows
forced so that every boundary position cuts through residuals, shared-scale chains, Relus far from
their producer, long skips and far-back Concats; and it stays linear in the number of nodes."""

from __future__ import annotations

import time

import numpy as np
import onnx
import pytest
from onnx import helper

from qviz.model import layer_table, load_model
from qviz.model.simulate import deployed_graph as dg
from qviz.model.simulate import dry_run_windows
from qviz.samples import load_sample, sample_ids
from qviz_dev import model_factory as mf
from qviz_dev.model_factory import init, make_model, rand, vinfo

WIDTH = 8


def assert_same(windowed: dg.DeployedTensors, full: dg.DeployedTensors) -> None:
    assert windowed.activations == full.activations
    assert windowed.constants.keys() == full.constants.keys()
    for k, v in full.constants.items():
        np.testing.assert_array_equal(windowed.constants[k], v, err_msg=k)


def both(model: onnx.ModelProto, window: int, monkeypatch, excluded_every: int = 0):
    """(windowed, full) dry runs of `model` with windows of `window` nodes; every
    `excluded_every`-th layer left out of QDQ (nodes_to_exclude) when > 0."""
    loaded = load_model(model.SerializeToString())
    layers = layer_table(loaded)
    excluded = layers[::excluded_every] if excluded_every else []
    monkeypatch.setattr(dry_run_windows, "WINDOW_NODES", window)
    return dg.find_deployed_tensors(loaded, excluded), dg.find_deployed_tensors_full(loaded, excluded)


def gemm(name: str, x: str, y: str, seed: int) -> tuple[onnx.NodeProto, list[onnx.TensorProto]]:
    node = helper.make_node("Gemm", [x, f"{name}.w", f"{name}.b"], [y], name=name, transB=1)
    return node, [init(f"{name}.w", rand((WIDTH, WIDTH), seed)), init(f"{name}.b", rand((WIDTH,), seed + 1))]


def window_hostile_net(blocks: int = 4, skip_gap: int = 0) -> onnx.ModelProto:
    """x[N,8] -> `blocks` x [Gemm -> Relu (its only reader) -> Add(residual from two blocks back)
    -> Transpose -> Reshape -> LayerNorm -> MatMul -> Softmax -> Mul(constant) -> Clip], each block
    also a Gemm 'early{i}' whose only reader is a Relu at the very end of the graph order; then a
    Reshape of block 0's output (marked long before by its readers), `skip_gap` Negs, and a Concat
    of the far-back tensors -> Gemm -> y."""
    nodes: list[onnx.NodeProto] = []
    inits = [
        init("shape", np.array([-1, WIDTH], np.int64)),
        init("ln.s", rand((WIDTH,), 90)),
        init("ln.b", rand((WIDTH,), 91)),
    ]
    outs, h, late = ["x", "x"], "x", []
    for i in range(blocks):
        for node, ws in (gemm(f"g{i}", h, f"g{i}", 10 * i), gemm(f"early{i}", h, f"e{i}", 10 * i + 5)):
            nodes.append(node)
            inits += ws
        inits += [init(f"m{i}.w", rand((WIDTH, WIDTH), 10 * i + 7)), init(f"c{i}", rand((1, WIDTH), 10 * i + 8))]
        nodes += [
            helper.make_node("Relu", [f"g{i}"], [f"r{i}"], name=f"relu{i}"),
            helper.make_node("Add", [f"r{i}", outs[-2]], [f"a{i}"], name=f"add{i}"),
            helper.make_node("Transpose", [f"a{i}"], [f"t{i}"], name=f"tr{i}", perm=[1, 0]),
            helper.make_node("Reshape", [f"t{i}", "shape"], [f"s{i}"], name=f"rs{i}"),
            helper.make_node("LayerNormalization", [f"s{i}", "ln.s", "ln.b"], [f"l{i}"], name=f"ln{i}"),
            helper.make_node("MatMul", [f"l{i}", f"m{i}.w"], [f"mm{i}"], name=f"mm{i}"),
            helper.make_node("Softmax", [f"mm{i}"], [f"sm{i}"], name=f"sm{i}", axis=-1),
            helper.make_node("Mul", [f"sm{i}", f"c{i}"], [f"mu{i}"], name=f"mul{i}"),
            helper.make_node("Clip", [f"mu{i}"], [f"o{i}"], name=f"clip{i}"),
        ]
        late.append(helper.make_node("Relu", [f"e{i}"], [f"re{i}"], name=f"late_relu{i}"))
        outs.append(f"o{i}")
        h = f"o{i}"
    nodes.append(helper.make_node("Reshape", ["o0", "shape"], ["far_reshape"], name="far_reshape"))
    for k in range(skip_gap):  # Neg: not quantized, so cheap for the whole-graph oracle
        nodes.append(helper.make_node("Neg", [h], [f"gap{k}"], name=f"gap{k}"))
        h = f"gap{k}"
    nodes += late
    cat = [h, "far_reshape", "o0", *(f"re{i}" for i in range(blocks))]
    nodes.append(helper.make_node("Concat", cat, ["cat"], name="cat", axis=1))
    inits.append(init("head.w", rand((WIDTH, WIDTH * len(cat)), 99)))
    nodes.append(helper.make_node("Gemm", ["cat", "head.w"], ["y"], name="head", transB=1))
    return make_model(nodes, [vinfo("x", ["N", WIDTH])], [vinfo("y", ["N", WIDTH])], inits, opset=17)


@pytest.mark.parametrize("window", [2, 3, 4, 5, 7, 11])
def test_every_boundary_position_gives_the_full_answer(window, monkeypatch):
    windowed, full = both(window_hostile_net(), window, monkeypatch)
    assert "s1" in full.activations and full.activations["s1"] == "a1"  # a shared-scale chain
    assert "g0" not in full.activations and "e0" not in full.activations  # removed Relu inputs
    assert_same(windowed, full)


@pytest.mark.parametrize("window", [3, 4, 6])
@pytest.mark.parametrize("excluded_every", [2, 3])
def test_excluded_layers_near_boundaries(window, excluded_every, monkeypatch):
    windowed, full = both(window_hostile_net(), window, monkeypatch, excluded_every)
    assert_same(windowed, full)


def test_a_tensor_read_500_nodes_later(monkeypatch):
    windowed, full = both(window_hostile_net(blocks=2, skip_gap=500), 60, monkeypatch)
    assert full.activations["o0"] == "o0"
    assert_same(windowed, full)


def test_prequantized_dequantize_outputs_stay_unquantized(monkeypatch):
    assert_same(*both(mf.qdq_conv(), 1, monkeypatch))


@pytest.mark.parametrize("name", sample_ids())
def test_bundled_samples(name, monkeypatch):
    model = onnx.load_model_from_string(load_sample(name).model_bytes)
    assert_same(*both(model, 23, monkeypatch))


def test_windowed_dry_run_is_linear_in_nodes():
    """300 vs 3000 Gemms: the whole-graph dry run was ~100x (quadratic); windows keep it ~10x."""

    def cpu(n: int) -> float:
        loaded = load_model(mf.to_bytes(mf.gemm_stack(n, 4)))
        start = time.process_time()
        found = dg.find_deployed_tensors(loaded)
        assert len(found.activations) == n + 1
        return time.process_time() - start

    cpu(30)
    small = min(cpu(300) for _ in range(2))
    big = cpu(3000)
    assert big / small < 25, f"300 nodes: {small:.2f} s CPU, 3000 nodes: {big:.2f} s CPU"
