"""Runner: evaluates many configs of one model on one dataset, reusing sessions.

    >>> from qviz.config import PRESETS
    >>> from qviz.evaluate import from_sample
    >>> from qviz.model import load_model
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_mlp")
    >>> runner = Runner(Simulator(load_model(sample.model_bytes), sample.calibration.x), from_sample(sample))
    >>> [y.shape for y in runner.outputs(PRESETS["w8a8"])]      # an array per graph output, all samples
    [(360, 10)]
    >>> [y.shape for y in runner.float_outputs()]               # the untouched model's outputs
    [(360, 10)]
    >>> tap = runner.layers[0].outputs[0]                       # a layer's output (taps)
    >>> [y.shape for y in runner.outputs(PRESETS["w8a8"], names=[tap])]
    [(360, 128)]
    >>> runner.sessions_built, runner.passes
    (3, 3)
    >>> _ = runner.outputs(PRESETS["w8a8"])                     # again: one more pass, no new session
    >>> runner.sessions_built, runner.passes
    (3, 4)

Two kinds of sessions:
  - one-layer configs (everything float but one layer: what sweeps and local layer errors
    run) share one "switchable" session per layer. It holds only the *suffix* of the model
    from that layer on (suffix.py): everything before is the float model's result, fetched
    once per group of layers by one float pass (at most CUT_CACHE_BYTES held) and fed at
    the cut. That layer's weight becomes a graph input
    (the engine's dequantized weight, or the original, is fed at run time) and its
    activation input goes through

        y = If(enable, then: Mul(Min(Max(Round(Div(x, s)), lo), hi), s), else: Identity(x))

    with s, lo = qmin - z, hi = qmax - z and enable fed per run: exactly the Simulator's
    static fake-quantization nodes (act_nodes.static_int_nodes) when on, x when off. Every
    candidate of that layer whose activations are static int/fixed_point with half_even
    rounding (or float) runs on it; so a sweep builds L sessions, not L x B.
  - any other config: `Simulator.build` + a new session, cached by the config's JSON (LRU).

# NOTE: why not one switchable session for all layers: weights fed as inputs are not constant
# to onnxruntime, which then skips its constant-weight work (NCHWc conv layouts, pre-packing);
# measured 4.6x slower per pass on the MobileNet sample (one variable depthwise layer: up to
# 1.6x on its suffix), hence one session per layer, and suffixes to skip the float prefix.
# NOTE: tapped layer outputs are graph outputs, which stops fusions (Conv+Relu): sessions
# with taps are separate from the ones without.
"""

from __future__ import annotations

import dataclasses
import math
from collections import OrderedDict

import numpy as np
import onnx
from onnx import TensorProto, helper

from qviz.config import ModelConfig
from qviz.evaluate.data import EvalData
from qviz.evaluate.suffix import cut_names, suffix_model
from qviz.model.load.layer_table import Layer
from qviz.model.load.shapes import infer_shapes
from qviz.model.runtime.session import run_session
from qviz.model.simulate.graph_edit import GraphEditor, tensor_elem_type
from qviz.model.simulate.resolve import LayerSpecs, resolve_layer_specs
from qviz.model.simulate.simulator import Simulator

FALLBACK_CACHE = 4
CUT_CACHE_BYTES = 256 * 2**20


class Runner:
    """One model + one dataset; `outputs(config)` runs every batch (module doc)."""

    def __init__(self, sim: Simulator, data: EvalData):
        self.sim, self.data = sim, data
        self.layers = [x for x in sim.layers if not x.quantized]
        self.sessions_built = 0
        self.passes = 0
        self._sessions: dict = {}  # (layer id | None, taps) -> (session, slot tensor or None)
        self._fallback: OrderedDict = OrderedDict()
        self._cut_cache: dict = {}
        self._cut_sess = None
        self._shapes: dict[str, tuple[int, ...]] | None = None
        self.output_names = [v.name for v in sim.proto.graph.output]

    def float_outputs(self, names=None) -> list[np.ndarray]:
        """Outputs of the unmodified model (graph outputs, or `names`, e.g. layer outputs)."""
        sess, _ = self._layer_session(None, bool(names))
        return self._run(sess, names or self.output_names, lambda feed: feed)

    def outputs(self, config: ModelConfig, names=None) -> list[np.ndarray]:
        """Outputs of the simulated `config` on every batch, concatenated along axis 0."""
        taps = bool(names)
        names = names or self.output_names
        specs = resolve_layer_specs(self.sim.layers, config)
        if all(specs[x.id].is_float for x in self.layers):  # exactly the float model's numbers
            return self.float_outputs(names if taps else None)
        layer = self._single_layer(specs)
        if layer is not None:
            sess, slot = self._layer_session(layer, taps)
            if _switchable(specs[layer.id], slot) and self._available(sess, layer, names):
                return self._run_suffix(sess, layer, names, self._extra_feeds(layer, specs[layer.id], slot))
        return self._run(self._fallback_session(config, taps), names, lambda feed: feed)

    def _single_layer(self, specs: dict[str, LayerSpecs]):
        """The one non-float layer of a config, else None."""
        changed = [x for x in self.layers if not specs[x.id].is_float]
        return changed[0] if len(changed) == 1 else None

    def _session(self, proto):
        self.sessions_built += 1
        return self.sim.loaded.executor.session(proto.SerializeToString())

    def _run(self, sess, names, make_feed) -> list[np.ndarray]:
        self.passes += 1
        parts = [run_session(sess, list(names), make_feed(feed)) for feed in self.data.feeds]
        return [np.concatenate([p[i] for p in parts], axis=0) for i in range(len(names))]

    def _available(self, sess, layer, names) -> bool:
        """Can the suffix session (or its cut) give every name? (Not a tap before the cut.)"""
        have = {v.name for v in sess.get_outputs()} | set(self._cuts(layer)[0])
        return all(n in have for n in names)

    def _run_suffix(self, sess, layer, names, extra) -> list[np.ndarray]:
        """Run the layer's suffix session on every batch, fed from the cached float cut."""
        self.passes += 1
        made = {v.name for v in sess.get_outputs()}
        run = [n for n in names if n in made]
        parts = []
        for cut in self._cuts(layer):
            out = dict(zip(run, run_session(sess, run, {**cut, **extra}), strict=True)) if run else {}
            parts.append([out[n] if n in out else cut[n] for n in names])
        return [np.concatenate([p[i] for p in parts], axis=0) for i in range(len(names))]

    def _fallback_session(self, config: ModelConfig, taps: bool):
        key = (config.to_json(), taps)
        if key not in self._fallback:
            proto = self.sim.build(config)
            self._fallback[key] = self._session(_with_outputs(proto, self._tap_names()) if taps else proto)
            while len(self._fallback) > FALLBACK_CACHE:
                self._fallback.popitem(last=False)
        self._fallback.move_to_end(key)
        return self._fallback[key]

    def _tap_names(self) -> list[str]:
        return [x.outputs[0] for x in self.layers if x.outputs]

    def _layer_session(self, layer, taps: bool):
        """(session, activation slot) with `layer` switchable (None: the float model)."""
        key = (None if layer is None else layer.id, taps)
        if key not in self._sessions:
            if layer is None:
                proto, slot = self.sim.proto, None
            else:
                proto, slot = self._build_switch(layer)
            produced = {o for n in proto.graph.node for o in n.output}
            taps_here = [n for n in self._tap_names() if n in produced]
            self._sessions[key] = (self._session(_with_outputs(proto, taps_here) if taps else proto), slot)
        return self._sessions[key]

    def _build_switch(self, layer):
        """The suffix from `layer` on, with its weight as an input and its activation switch (module doc)."""
        cut = self._cuts(layer)[0]
        types: dict[str, int] = {n: helper.np_dtype_to_tensor_dtype(v.dtype) for n, v in cut.items()}
        ed = GraphEditor(suffix_model(self.sim.proto, layer.position, types))
        local = dataclasses.replace(layer, position=0)
        elem = (
            tensor_elem_type(self.sim.proto, self.sim.proto.graph.node[layer.position].input[layer.weight_input])
            or TensorProto.FLOAT
        )
        ed.model.graph.input.append(helper.make_tensor_value_info(f"qviz_w:{layer.id}", elem, list(layer.weight_shape)))
        ed.set_input(0, layer.weight_input, f"qviz_w:{layer.id}")
        x = layer.inputs[0] if layer.inputs else None
        if x is None or self.sim.activations()[x].dtype != np.float32 or self._shares_input(layer):
            return ed.finish(), None
        _insert_switch(ed, local, x)
        return ed.finish(), x

    def _cuts(self, layer) -> list[dict[str, np.ndarray]]:
        """Per batch, the float tensors at `layer`'s cut (graph inputs included); cached for a
        group of following layers fetched in one float pass (at most CUT_CACHE_BYTES)."""
        if layer.id not in self._cut_cache:
            self._fetch_cuts(layer)
        return self._cut_cache[layer.id]

    def _fetch_cuts(self, layer) -> None:
        group: list[Layer] = []
        names: list[str] = []
        nbytes = 0
        for other in self.layers[self.layers.index(layer) :]:
            extra = [n for n in cut_names(self.sim.proto, other.position) if n not in names]
            size = sum(self._cut_bytes(n) for n in extra)
            if group and nbytes + size > CUT_CACHE_BYTES:
                break
            group.append(other)
            names += extra
            nbytes += size
        inputs = {v.name for v in self.sim.proto.graph.input}
        fetch = [n for n in names if n not in inputs]
        sess = self._cut_session()
        self.passes += 1
        values = [
            dict(zip(fetch, run_session(sess, fetch, feed), strict=True)) if fetch else {} for feed in self.data.feeds
        ]
        for vals in values:
            for v in vals.values():  # cached and fed again for every candidate: never changed,
                v.setflags(write=False)  # so an isolated model's host keeps them (worker/host.py)
        self._cut_cache = {}
        for other in group:
            cut = cut_names(self.sim.proto, other.position)
            self._cut_cache[other.id] = [
                {n: (feed[n] if n in inputs else vals[n]) for n in cut}
                for feed, vals in zip(self.data.feeds, values, strict=True)
            ]

    def _cut_bytes(self, name: str) -> int:
        if self._shapes is None:
            self._shapes = infer_shapes(self.sim.proto, batch=1)
        return 4 * math.prod(self._shapes.get(name, (1,))) * self.data.n

    def _cut_session(self):
        """The float model with every layer's cut tensors as extra outputs (built once)."""
        if self._cut_sess is None:
            names = {n for x in self.layers for n in cut_names(self.sim.proto, x.position)}
            self._cut_sess = self._session(
                _with_outputs(self.sim.proto, sorted(names - {v.name for v in self.sim.proto.graph.input}))
            )
        return self._cut_sess

    def _shares_input(self, layer) -> bool:
        """True when an earlier layer of the same node owns the activation (LSTM W and R)."""
        return any(o.position == layer.position for o in self.layers[: self.layers.index(layer)])

    def _extra_feeds(self, layer, s: LayerSpecs, slot) -> dict[str, np.ndarray]:
        w = self.sim.dequantized_weight(layer, s.weights) if s.weights is not None else _float_weight(self, layer)
        feeds = {f"qviz_w:{layer.id}": w}
        if slot is not None:
            feeds.update(self._act_feeds(layer, s.activations, slot))
        return feeds

    def _act_feeds(self, layer, spec, x: str) -> dict[str, np.ndarray]:
        p = f"qviz_{{}}:{layer.id}"
        if spec is None:
            one = np.ones((), np.float32)
            return {p.format("s"): one, p.format("lo"): one, p.format("hi"): one, p.format("en"): np.array(False)}
        scale, zp = self.sim.qparams(x, spec)
        shape = _param_shape(np.shape(scale), spec, self.sim.activations()[x].ndim)
        z = np.asarray(zp, np.float32).reshape(shape)
        return {
            p.format("s"): np.asarray(scale, np.float32).reshape(shape),
            p.format("lo"): np.asarray(spec.qmin - z, np.float32),
            p.format("hi"): np.asarray(spec.qmax - z, np.float32),
            p.format("en"): np.array(True),
        }


def _switchable(s: LayerSpecs, slot) -> bool:
    """Can the layer's switchable session express these specs? (module doc)"""
    a = s.activations
    return a is None or (slot is not None and not s.dynamic and a.scheme != "float" and a.rounding == "half_even")


_FLOAT_CACHE_ATTR = "_qviz_float_weights"


def _float_weight(runner: Runner, layer) -> np.ndarray:
    """The layer's original weight in the type the node reads (cached on the runner)."""
    cache = runner.__dict__.setdefault(_FLOAT_CACHE_ATTR, {})
    if layer.id not in cache:
        node_input = runner.sim.proto.graph.node[layer.position].input[layer.weight_input]
        elem = tensor_elem_type(runner.sim.proto, node_input) or TensorProto.FLOAT
        w = np.asarray(runner.sim.loaded.weights[layer.weight_name])
        cache[layer.id] = np.ascontiguousarray(w.astype(helper.tensor_dtype_to_np_dtype(elem)))
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


def _with_outputs(proto: onnx.ModelProto, names: list[str]) -> onnx.ModelProto:
    """A copy of proto with `names` added as graph outputs (type left to onnxruntime)."""
    m = onnx.ModelProto()
    m.CopyFrom(proto)
    have = {v.name for v in m.graph.output}
    m.graph.output.extend(onnx.ValueInfoProto(name=n) for n in dict.fromkeys(names) if n not in have)
    return m
