"""The switchable suffix of one layer: every one-layer config of that layer runs on one session.

The session holds the model from the layer on (suffix.segment_model), fed with the float
model's tensors at the cut. The layer's weight is a graph input (the engine's dequantized
weight, or the original, is fed at run time) and its activation input goes through

    y = If(enable, then: Mul(Min(Max(Round(Div(x, s)), lo), hi), s), else: Identity(x))

with s, lo = qmin - z, hi = qmax - z and enable fed per run: exactly the Simulator's static
fake-quantization nodes (act_nodes.static_int_nodes) when on, x when off. Every candidate of
that layer whose activations are static int/fixed_point with half_even rounding (or float) runs
on it (`switchable`); so a sweep builds L sessions, not L x B.

# NOTE: why not one switchable session for all layers: weights fed as inputs are not constant
# to onnxruntime, which then skips its constant-weight work (NCHWc conv layouts, pre-packing);
# measured 4.6x slower per pass on the MobileNet sample (one variable depthwise layer: up to
# 1.6x on its suffix), hence one session per layer, and suffixes to skip the float prefix.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from onnx import ModelProto, TensorProto, helper

from qviz.evaluate.suffix import segment_model
from qviz.model.simulate.graph_edit import GraphEditor
from qviz.model.simulate.resolve import LayerSpecs


def switchable(s: LayerSpecs, slot) -> bool:
    """Can the layer's switchable session express these specs? (module doc)"""
    a = s.activations
    return a is None or (slot is not None and not s.dynamic and a.scheme != "float" and a.rounding == "half_even")


def build_switch(runner, layer, cut: dict[str, np.ndarray], shares_input: bool) -> tuple[ModelProto, str | None]:
    """(the suffix from `layer` on with its weight as an input and its activation switch, the
    switched activation's name or None). `cut`: one batch of the float tensors at the cut.
    The model's initializers hold no data yet (suffix.with_data): edits copy it cheaply."""
    sim = runner.sim
    types = {n: helper.np_dtype_to_tensor_dtype(v.dtype) for n, v in cut.items()}
    produced = {o for n in sim.proto.graph.node[layer.position :] for o in n.output}
    outputs = [v.name for v in sim.proto.graph.output if v.name in produced]
    skeleton = runner.skeleton()
    ed = GraphEditor(segment_model(skeleton, layer.position, len(skeleton.graph.node), types, outputs))
    local = dataclasses.replace(layer, position=0)
    ed.model.graph.input.append(
        helper.make_tensor_value_info(f"qviz_w:{layer.id}", sim.weight_elem_type(layer), list(layer.weight_shape))
    )
    ed.set_input(0, layer.weight_input, f"qviz_w:{layer.id}")
    x = layer.inputs[0] if layer.inputs else None
    if x is None or x not in cut or cut[x].dtype != np.float32 or shares_input:
        return ed.finish(), None
    _insert_switch(ed, local, x)
    return ed.finish(), x


def extra_feeds(runner, layer, s: LayerSpecs, slot, ndim: int) -> dict[str, np.ndarray]:
    """The switch session's feeds for `s`: the weight, and the activation switch's parameters."""
    w = runner.sim.dequantized_weight(layer, s.weights) if s.weights is not None else float_weight(runner, layer)
    feeds = {f"qviz_w:{layer.id}": w}
    if slot is not None:
        feeds.update(_act_feeds(runner.sim, layer, s.activations, ndim))
    return feeds


def _act_feeds(sim, layer, spec, ndim: int) -> dict[str, np.ndarray]:
    p = f"qviz_{{}}:{layer.id}"
    if spec is None:
        one = np.ones((), np.float32)
        return {p.format("s"): one, p.format("lo"): one, p.format("hi"): one, p.format("en"): np.array(False)}
    scale, zp = sim.qparams(sim.activation_key(layer), spec)
    shape = _param_shape(np.shape(scale), spec, ndim)
    z = np.asarray(zp, np.float32).reshape(shape)
    return {
        p.format("s"): np.asarray(scale, np.float32).reshape(shape),
        p.format("lo"): np.asarray(spec.qmin - z, np.float32),
        p.format("hi"): np.asarray(spec.qmax - z, np.float32),
        p.format("en"): np.array(True),
    }


_FLOAT_CACHE_ATTR = "_qviz_float_weights"


def float_weight(runner, layer) -> np.ndarray:
    """The layer's original weight in the type the node reads (cached on the runner)."""
    cache = runner.__dict__.setdefault(_FLOAT_CACHE_ATTR, {})
    if layer.id not in cache:
        dtype = helper.tensor_dtype_to_np_dtype(runner.sim.weight_elem_type(layer))
        w = np.asarray(runner.sim.loaded.weights[layer.weight_name])
        cache[layer.id] = np.ascontiguousarray(w.astype(dtype))
        cache[layer.id].setflags(write=False)  # fed again for every candidate: a model's host keeps it
    return cache[layer.id]


def _insert_switch(ed: GraphEditor, layer, x: str) -> None:
    """If(en, fake_quant(x), x) before the layer; the layer reads the result.

    # NOTE: an If, not a Where: Where would compute the five elementwise ops of the
    # fake-quantization on every layer even when it is off (measured 2x slower on MobileNet).
    """
    p = f"qviz_{{}}:{layer.id}"
    g = ed.model.graph
    for k in ("s", "lo", "hi"):
        g.input.append(helper.make_tensor_value_info(p.format(k), TensorProto.FLOAT, None))
    g.input.append(helper.make_tensor_value_info(p.format("en"), TensorProto.BOOL, []))
    out = ed.unique(f"{x}_qviz_switch")
    names = [ed.unique(f"{out}_{op}") for op in ("div", "round", "max", "min", "mul", "id")]
    body = [
        helper.make_node("Div", [x, p.format("s")], [names[0]]),
        helper.make_node("Round", [names[0]], [names[1]]),
        helper.make_node("Max", [names[1], p.format("lo")], [names[2]]),
        helper.make_node("Min", [names[2], p.format("hi")], [names[3]]),
        helper.make_node("Mul", [names[3], p.format("s")], [names[4]]),
    ]
    on = helper.make_graph(body, f"{out}_on", [], [helper.make_tensor_value_info(names[4], TensorProto.FLOAT, None)])
    off = helper.make_graph(
        [helper.make_node("Identity", [x], [names[5]])],
        f"{out}_off",
        [],
        [helper.make_tensor_value_info(names[5], TensorProto.FLOAT, None)],
    )
    ed.insert_before(
        layer.position,
        [helper.make_node("If", [p.format("en")], [out], name=ed.unique(out), then_branch=on, else_branch=off)],
    )
    node = ed.nodes[layer.position]
    for i, name in enumerate(node.input):
        if name == x and i != layer.weight_input:
            ed.set_input(layer.position, i, out)


def _param_shape(shape: tuple, spec, ndim: int) -> tuple:
    """Broadcast shape of per-channel activation params (as act_nodes._param_shape)."""
    if spec.granularity == "tensor" or not shape:
        return ()
    axis = spec.axis % ndim
    return tuple(shape[0] if i == axis else 1 for i in range(ndim))
