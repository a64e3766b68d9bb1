"""Every layer's local error in one pass (local_error.py): same numbers as one simulation per layer,
two sessions whatever the depth, and the layers it cannot copy fall back to their own run."""

from __future__ import annotations

import numpy as np
import pytest

from qviz.config import PRESETS
from qviz.evaluate import Runner, from_arrays, layer_errors
from qviz.evaluate.error_sums import error_sums, metrics
from qviz.evaluate.layer_error import only_layer
from qviz.evaluate.local_error import local_outputs
from qviz.model.simulate.calibrate import collect_tensors
from qviz.model.simulate.simulator import Simulator
from qviz.quant.metrics import summary
from qviz_dev import model_factory as mf


def _runner(model, n=6):
    sim = Simulator(mf.to_bytes(model), mf.random_inputs(model, batch=n, seed=1))
    return Runner(sim, from_arrays(sim.loaded, mf.random_inputs(model, batch=n, seed=2)))


def test_sessions_do_not_grow_with_depth():
    """One session for the float model and every local copy, one for the whole config: a deep model
    no longer builds a suffix per layer (it built L + 2 sessions)."""
    runner = _runner(mf.gemm_stack(12, 8))
    df = layer_errors(runner, PRESETS["w4a8"], max_samples=None)  # None: on this Runner, its counters
    assert len(df) == 12
    assert runner.sessions_built == 1  # error_sums: one graph for the float model, the config and each layer alone


@pytest.mark.parametrize(
    ("name", "rel"), [("conv_net", 1e-4), ("mlp", 1e-4), ("multi_input", 1e-4), ("fp16_weights", 1e-2)], ids=str
)
def test_local_outputs_equal_one_simulation_per_layer(name, rel):
    """(fp16: onnxruntime's fp16 kernels differ by graph, within their precision.)"""
    runner = _runner(mf.ALL_GOOD[name]())
    cfg = PRESETS["w4a8"]
    layers = [x for x in runner.layers if x.outputs]
    ref, local, missed = local_outputs(runner, cfg, layers)
    assert not missed
    for x in layers:
        out = x.outputs[0]
        alone = collect_tensors(runner.sim.build(only_layer(cfg, x.id)), [out], runner.data.feeds)[out]
        want = summary(collect_tensors(runner.sim.proto, [out], runner.data.feeds)[out], alone)["sqnr_db"]
        assert summary(ref[out], local[x.id])["sqnr_db"] == pytest.approx(want, rel=rel)


def test_a_node_holding_two_layers_falls_back():
    """LSTM W and R are one node: quantizing only W is another graph than both, so each runs alone."""
    runner = _runner(mf.lstm_net())
    layers = [x for x in runner.layers if x.outputs]
    _, local, missed = local_outputs(runner, PRESETS["w8"], layers)
    assert {x.id for x in missed} == {x.id for x in layers} and not local
    df = layer_errors(runner, PRESETS["w8"])
    assert df["local_sqnr_db"].notna().all()


def test_sums_come_out_of_one_session_and_equal_the_tensors_metrics():
    """error_sums: float, whole config and each layer alone in one graph, reduced to scalars inside it."""
    runner = _runner(mf.conv_net())
    cfg = PRESETS["w4a8"]
    layers = [x for x in runner.layers if x.outputs]
    sums = error_sums(runner, cfg, layers)
    assert runner.sessions_built == 1 and sums is not None and not sums.missed
    names = [x.outputs[0] for x in layers]
    ref = collect_tensors(runner.sim.proto, names, runner.data.feeds)
    full = collect_tensors(runner.sim.build(cfg), names, runner.data.feeds)
    for x in layers:
        want = summary(ref[x.outputs[0]], full[x.outputs[0]])
        got = metrics(sums.propagated[x.id])
        assert got["sqnr_db"] == pytest.approx(want["sqnr_db"], rel=1e-4)
        assert got["cosine_similarity"] == pytest.approx(want["cosine_similarity"], rel=1e-6)
        assert got["mse"] == pytest.approx(want["mse"], rel=1e-4)


def test_padded_batches_are_left_to_the_tensors():
    """A fixed batch of 4 with 6 samples repeats 2 rows: summed in the graph they would count."""
    model = mf.conv_net(batch=4)
    sim = Simulator(mf.to_bytes(model), mf.random_inputs(model, seed=1))
    x = np.random.default_rng(3).standard_normal((6, 3, 8, 8), dtype=np.float32)
    runner = Runner(sim, from_arrays(sim.loaded, x))
    assert runner.data.pad == 2 and error_sums(runner, PRESETS["w8a8"], runner.layers) is None
    df = layer_errors(runner, PRESETS["w8a8"], max_samples=None)
    assert len(df) == len(runner.layers) and df["propagated_sqnr_db"].notna().all()


def test_a_name_both_builds_made_for_other_values_gets_its_own_copy():
    """The whole config and the layer alone may name a scale the same (after the tensor it serves)
    with other values (graph scope: one scale across a Concat); sharing it would be wrong."""
    from onnx import helper

    from qviz.evaluate.error_sums import _own_initializers

    def model(**inits):
        g = helper.make_graph([], "g", [], [], [mf.init(k, np.asarray(v, np.float32)) for k, v in inits.items()])
        return helper.make_model(g)

    skeleton, full = model(w=1.0), model(w=1.0, x_scale=0.5, w_qviz=2.0)
    alone = model(w=1.0, x_scale=0.25, w_qviz=2.0)
    assert _own_initializers(alone, full, skeleton) == {"x_scale": "x_scale::qviz_local"}
