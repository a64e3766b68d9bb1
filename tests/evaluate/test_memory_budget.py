"""The Runner's memory budget: the tensors it keeps never exceed it, what it drops is computed again,
and every number equals an unbounded run's, bit for bit (sweeps, searches, evaluations)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from onnx import TensorProto, helper, numpy_helper

from qviz.config import PRESETS, LayerConfig
from qviz.evaluate import Runner, evaluate, from_arrays, layer_error, layer_errors, search, sweep, weight_candidate
from qviz.evaluate import segments as segments_module
from qviz.model import make_session
from qviz.model.simulate.simulator import Simulator
from qviz_dev import model_factory as mf

UNBOUNDED = 2**40
N = 150  # samples: batches of 64, 64 and 22


def residual_net(blocks: int = 3, width: int = 8, seed: int = 0):
    """x[N,3,12,12] -> conv0 -> Relu -> `blocks` x (conv a -> Relu -> conv b, + the block's input, Relu)
    -> GlobalAveragePool -> Flatten -> Gemm 'fc' -> y[N,10]. The residual makes cuts hold two tensors."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []

    def conv(name, x, cin, cout):
        w = rng.standard_normal((cout, cin, 3, 3), dtype=np.float32) * np.float32(np.sqrt(2 / (9 * cin)))
        inits.append(numpy_helper.from_array(w, f"{name}.weight"))
        nodes.append(helper.make_node("Conv", [x, f"{name}.weight"], [name], name=name, pads=[1, 1, 1, 1]))
        return name

    def relu(x):
        nodes.append(helper.make_node("Relu", [x], [f"{x}_relu"]))
        return f"{x}_relu"

    x = relu(conv("conv0", "x", 3, width))
    for i in range(blocks):
        h = conv(f"b{i}b", relu(conv(f"b{i}a", x, width, width)), width, width)
        nodes.append(helper.make_node("Add", [h, x], [f"add{i}"]))
        x = relu(f"add{i}")
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"]))
    inits.append(numpy_helper.from_array(rng.standard_normal((10, width), dtype=np.float32), "fc.weight"))
    nodes.append(helper.make_node("Gemm", ["flat", "fc.weight"], ["y"], name="fc", transB=1))
    return mf.make_model(nodes, [mf.vinfo("x", ["N", 3, 12, 12])], [mf.vinfo("y", ["N", 10], TensorProto.FLOAT)], inits)


@pytest.fixture(scope="module")
def net():
    model = residual_net()
    x = np.random.default_rng(1).standard_normal((N, 3, 12, 12), dtype=np.float32)
    sim = Simulator(mf.to_bytes(model), x[:64])
    return sim, from_arrays(sim.loaded, x, np.arange(N) % 10)


@pytest.fixture
def segmented(monkeypatch):
    """Cut every model into as many segments as it has layers (MAX_SEGMENTS allowing)."""
    monkeypatch.setattr(segments_module, "SEGMENT_MACS", 1)


def one_cut_bytes(runner) -> int:
    """Bytes of the largest float cut of any layer (what streaming a sweep needs at least)."""
    return max(sum(v.nbytes for b in runner.cut(x) for k, v in b.items() if k != "x") for x in runner.layers)


CANDIDATES = {
    "w8": weight_candidate(8),
    "w2": weight_candidate(2),
    "a4": LayerConfig(None, PRESETS["w8a8"].default.activations.replace(bits=4)),
}


@pytest.mark.parametrize("share", [0.0, 1.0, 2.5], ids=["nothing-kept", "one-cut", "two-cuts"])
def test_sweep_within_budget_equals_unbounded(net, share):
    sim, data = net
    free = Runner(sim, data, memory_budget_bytes=UNBOUNDED)
    want = sweep(free, candidates=CANDIDATES)
    budget = int(share * one_cut_bytes(Runner(sim, data)))
    runner = Runner(sim, data, memory_budget_bytes=budget)
    got = sweep(runner, candidates=CANDIDATES)
    pd.testing.assert_frame_equal(got.records, want.records, check_exact=True)
    assert runner.cache.peak_nbytes <= budget and runner.memory_budget_bytes == budget
    if share == 0:  # nothing kept: every cell's cut is streamed again from the inputs
        assert runner.cache.peak_nbytes == 0 and runner.cuts.recomputed > 0
        assert got.passes > want.passes


def test_sweep_streams_one_cut_at_a_time(net):
    sim, data = net
    runner = Runner(sim, data, memory_budget_bytes=UNBOUNDED)
    held = []
    sweep(runner, candidates={"w8": weight_candidate(8)}, progress=lambda *_: held.append(_cut_entries(runner)))
    assert max(held) == 1 and runner.cuts.recomputed == 0  # graph order: each cut from the one before


def _cut_entries(runner) -> int:
    return sum(1 for key in runner.cache if key[0] == "cut")


def test_search_within_budget_equals_unbounded(net, segmented):
    sim, data = net
    want = search(Runner(sim, data, memory_budget_bytes=UNBOUNDED), None, {"bpw": 4.0}, candidates=(8, 4, 2))
    runner = Runner(sim, data, memory_budget_bytes=one_cut_bytes(Runner(sim, data)))
    got = search(runner, None, {"bpw": 4.0}, candidates=(8, 4, 2))
    pd.testing.assert_frame_equal(got.evaluated, want.evaluated, check_exact=True)
    assert runner.cache.peak_nbytes <= runner.memory_budget_bytes and runner.cache.evictions > 0


def test_evicted_boundaries_are_recomputed_bit_for_bit(net, segmented):
    sim, data = net
    runner = Runner(sim, data, memory_budget_bytes=one_cut_bytes(Runner(sim, data)))
    first, last = runner.layers[0].id, runner.layers[-1].id
    a = PRESETS["w8a8"]
    b, c = a.with_layer(last, weight_candidate(4)), a.with_layer(first, weight_candidate(4))
    want = {
        name: Runner(sim, data, memory_budget_bytes=UNBOUNDED).outputs(cfg)
        for name, cfg in zip("abc", (a, b, c), strict=True)
    }
    got = {name: runner.outputs(cfg) for name, cfg in zip("abcab", (a, b, c, a, b), strict=True)}
    assert runner.chain.recomputed > 0 and runner.cache.evictions > 0
    assert runner.cache.peak_nbytes <= runner.memory_budget_bytes
    for name, outs in got.items():
        assert all(np.array_equal(g, w) for g, w in zip(outs, want[name], strict=True))


def test_changing_one_layer_runs_only_the_segments_it_feeds(net, segmented):
    sim, data = net
    runner = Runner(sim, data, memory_budget_bytes=UNBOUNDED)
    bounds = runner.chain.bounds
    assert len(bounds) - 1 > 2
    # NOTE: the layer-inputs scope: in the deployed-graph scope a layer turned weight-only also stops
    # quantizing its input where it is made, in the segment before it (Simulator.graph_plan)
    config = PRESETS["w8a8"].with_scope("layers")
    runner.outputs(config)
    for layer in runner.layers:
        passes, built = runner.passes, runner.sessions_built
        config = config.with_layer(layer.id, weight_candidate(4))
        runner.outputs(config)
        first = max(j for j, b in enumerate(bounds[:-1]) if b <= layer.position)  # the layer's segment
        assert runner.passes - passes == len(bounds) - 1 - first  # from that segment on
        assert runner.sessions_built - built == 1  # that segment's session; the others are kept


def test_in_the_deployed_graph_scope_a_weight_change_runs_only_the_segments_it_feeds(net, segmented):
    """The deployed-graph plan (quantized Add/Relu/... outputs, the graph input before its readers)
    depends on which layers quantize activations, not on their weights: a weight-only change of
    one layer rebuilds its own segment and reruns from there, as in the layer-inputs scope."""
    sim, data = net
    runner = Runner(sim, data, memory_budget_bytes=UNBOUNDED)
    bounds = runner.chain.bounds
    config = PRESETS["w8a8"]
    assert config.activation_scope == "graph"
    runner.outputs(config)
    for layer in runner.layers:
        passes, built = runner.passes, runner.sessions_built
        lc = config.for_layer(layer.id)
        config = config.with_layer(layer.id, LayerConfig(lc.weights.replace(bits=4), lc.activations))
        runner.outputs(config)
        first = max(j for j, b in enumerate(bounds[:-1]) if b <= layer.position)
        assert runner.passes - passes == len(bounds) - 1 - first
        assert runner.sessions_built - built == 1
    # the first layer's activation spec is the graph input's: only the segment reading it changes
    first_layer = runner.layers[0]
    assert first_layer.inputs[0] in {i.name for i in sim.proto.graph.input}
    runner = Runner(sim, data, memory_budget_bytes=UNBOUNDED)
    config = PRESETS["w8a8"]
    runner.outputs(config)
    lc = config.for_layer(first_layer.id)
    built = runner.sessions_built
    runner.outputs(config.with_layer(first_layer.id, LayerConfig(lc.weights, lc.activations.replace(bits=7))))
    assert runner.sessions_built - built == 1


@pytest.mark.parametrize("preset, tol", [("w8a8", 1e-5), ("w4a8", 1e-5), ("fp16", 1e-3)])
def test_segmented_outputs_match_the_whole_simulated_model(net, segmented, preset, tol):
    """Cut or not, the same model up to onnxruntime's fusions across a cut (fp16: one rounding)."""
    sim, data = net
    config = PRESETS[preset]
    got = Runner(sim, data).outputs(config)[0]
    sess = make_session(sim.simulate(config), check=False)
    want = np.concatenate([sess.run(None, feed)[0] for feed in data.feeds])
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_evaluate_reuses_the_float_outputs(net):
    sim, data = net
    runner = Runner(sim, data)
    evaluate(runner, PRESETS["w8"])
    passes = runner.passes
    ev = evaluate(runner, PRESETS["w8"].with_layer(runner.layers[0].id, LayerConfig()))
    assert runner.passes == passes + 1 and ev.n == N  # the new config only, not the float model again


def test_layer_errors_keep_the_runners_budget(net, monkeypatch):
    """layer_errors evaluates the first samples on a Runner of its own: with the caller's budget."""
    made = []

    class Spy(Runner):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self.memory_budget_bytes)

    monkeypatch.setattr(layer_error, "Runner", Spy)
    sim, data = net
    layer_errors(Runner(sim, data, memory_budget_bytes=12345), PRESETS["w8a8"])
    assert made == [12345]
