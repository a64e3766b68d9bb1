"""Per-layer work is linear in the number of layers (issue 12, item 4): a 1000-layer model's
simulation took 17 s of server CPU because the element type of each layer's weight rebuilt a
dict of every node (graph_edit.tensor_elem_type). No wall times: the CPU time of 3000 layers is
compared with that of 300 measured in the same test (linear: ~10x; the quadratic code: ~60x)."""

from __future__ import annotations

import time

from onnx import TensorProto

from qviz.model import layer_table, load_model
from qviz.model.simulate.simulator import Simulator
from qviz_dev import model_factory as mf

LINEAR_ENOUGH = 25  # 10x the layers: 10x is linear, 100x quadratic; generous for a noisy machine


def _first_run_cpu(n_layers: int) -> float:
    """CPU seconds of the per-layer work of a new upload's first simulation: load, the layer
    table, a Simulator, the element type of every layer's weight (what each layer's edit asks) and
    the dry run of quantize_static that tells which tensors the deployed model quantizes
    (Simulator.deployed_tensors: onnxruntime's own graph edits are quadratic in nodes, so it runs
    in windows of the graph, deployed_graph / dry_run_windows)."""
    data = mf.to_bytes(mf.gemm_stack(n_layers, 4))
    start = time.process_time()
    loaded = load_model(data)
    sim = Simulator(loaded, None)
    assert len(layer_table(loaded)) == len(sim.layers) == n_layers
    assert {sim.weight_elem_type(layer) for layer in sim.layers} == {TensorProto.FLOAT}
    assert len(sim.deployed_tensors().activations) == n_layers + 1  # every Gemm's input, and y
    assert not sim.dry_run_error
    return time.process_time() - start


def test_simulating_3000_layers_costs_about_10x_300():
    _first_run_cpu(30)  # imports and first-call caches out of the measurement
    small = min(_first_run_cpu(300) for _ in range(2))
    big = _first_run_cpu(3000)
    assert big / small < LINEAR_ENOUGH, f"300 layers: {small:.2f} s CPU, 3000 layers: {big:.2f} s CPU"
