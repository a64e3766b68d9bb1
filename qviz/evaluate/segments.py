"""SegmentChain: a model cut at fixed node positions, run segment after segment, the tensors at each
boundary kept within a memory budget and recomputed from the nearest kept boundary when evicted.

    bounds  [0, b1, ..., len(nodes)]: segment k is nodes[b_k:b_k+1]; boundary k holds, per batch,
            the tensors cut_names(proto, b_k) (suffix.py): everything the rest of the model reads
            from before b_k (boundary 0: the data's feeds; the last one: the graph outputs)

A config runs segment after segment; each segment's session is built for the specs of the layers
inside it (one `Simulator.build` of only those layers, on a copy without weight data, cut out:
suffix.segment_model), so changing one layer rebuilds one segment. Boundary k of a config is
cached under (chain, k, the specs of every layer before b_k): a config that differs from an
earlier one only from segment j on starts at boundary j (it looks for the latest boundary still
held). Of the float model (every spec float) only the outputs are kept: its inner boundaries
serve a config only while its first segments are float, and such a config keeps them itself.

Streaming (`stream=True`, the chain cut before every layer that feeds a sweep its cuts): only
the latest boundary is kept, and boundary k+1 is computed from boundary k: a sweep in graph
order holds one layer's cut at a time and runs the float model once in all.

# NOTE: the segment bounds are fixed per chain, never chosen by what the cache holds: a value at a
# boundary is always computed by the same sessions from the same inputs, so results do not
# depend on the budget (bit for bit). Where a model is cut does change the last bits (onnxruntime
# fuses differently across a cut: Conv+Add with a residual), hence fixed cuts.
# NOTE: a cut costs: each boundary tensor leaves onnxruntime's blocked (NCHWc) layout and is copied
# out and in again, measured about 8 % of a pass per cut on a ResNet-50 with 32 images.
"""

from __future__ import annotations

import itertools

import numpy as np
from onnx import helper

from qviz.config import LayerConfig, ModelConfig
from qviz.evaluate.suffix import cut_names, outside_reads, segment_model
from qviz.model.runtime.session import run_session
from qviz.model.simulate.byte_lru import ByteLRU

SEGMENT_MACS = 20 * 10**9  # multiply-adds worth a cut of their own: about 0.3 s on one core here, 2x a cut
MAX_SEGMENTS = 8


def top_position(layer) -> int:
    """The main-graph node of a layer (a layer inside an If/Loop body: the node holding it)."""
    return layer.graph_path[0][0] if layer.graph_path else layer.position


def layer_bounds(n_nodes: int, layers) -> list[int]:
    """A boundary before every layer: [0, each layer's position, n_nodes]."""
    return sorted({0, n_nodes, *(top_position(x) for x in layers)})


def compute_bounds(n_nodes: int, layers, n_samples: int) -> list[int]:
    """About equal multiply-adds per segment, one segment per SEGMENT_MACS of the data (at most
    MAX_SEGMENTS), each cut before a layer; [0, n_nodes] for a small model or data."""
    macs: dict[int, int] = {}
    for x in layers:
        macs[top_position(x)] = macs.get(top_position(x), 0) + (x.macs or 0)
    total = sum(macs.values())
    segments = max(1, min(MAX_SEGMENTS, total * n_samples // SEGMENT_MACS))
    bounds, done, i = {0, n_nodes}, 0, 1
    for pos in sorted(macs):
        if i < segments and done * segments >= i * total:  # the i-th share of the work is done before pos
            bounds.add(pos)
            i += 1
        done += macs[pos]
    return sorted(bounds)


class SegmentChain:
    """Segments of `owner`'s model between `bounds` (module doc). `owner` (a Runner) gives the
    Simulator, the data, the skeleton and initializers, the budgeted cache and the counters."""

    def __init__(self, owner, bounds: list[int], tag: str, max_sessions: int, *, stream: bool = False):
        self.owner, self.bounds, self.tag, self.stream = owner, bounds, tag, stream
        proto = owner.sim.proto
        self.cuts = [cut_names(proto, b) for b in bounds]
        self.groups = [[x for x in owner.sim.layers if a <= top_position(x) < b] for a, b in itertools.pairwise(bounds)]
        self.sessions = ByteLRU(0, max_sessions)  # (segment, its specs) -> (session, inputs, outputs)
        self.computed: set = set()
        self.recomputed = 0  # boundary values computed again after the cache dropped them
        self._held: tuple | None = None  # stream=True: the one boundary kept

    def index(self, position: int) -> int:
        return self.bounds.index(position)

    def outputs(self, config: ModelConfig, specs: dict) -> list[dict]:
        """Per batch, {graph output: value} of `config` (its resolved `specs`)."""
        return self.values(len(self.bounds) - 1, config, specs)

    def values(self, k: int, config: ModelConfig, specs: dict) -> list[dict]:
        """Per batch, the tensors at boundary k of `config` (cached; recomputed from the latest
        boundary still cached)."""
        seg = [tuple(specs[x.id] for x in group) for group in self.groups]
        plan = self.owner.sim.graph_plan_parts(config, self.bounds)  # deployed-graph tensors per segment
        keys = [(self.tag, j, tuple(seg[:j]), tuple(plan[:j])) for j in range(k + 1)]
        start = next((j for j in range(k, 0, -1) if keys[j] in self.owner.cache), 0)
        vals = self.owner.cache.get(keys[start]) if start else self.owner.data.feeds
        quantized = any(not s.is_float for group in seg for s in group)
        for j in range(start, k):
            vals = self._step(j, config, seg[j], vals, plan[j])
            self.recomputed += keys[j + 1] in self.computed
            self.computed.add(keys[j + 1])
            if quantized or self.stream or j + 1 == k:  # the float model: its outputs only (module doc)
                self._keep(keys[j + 1], vals)
        return vals

    def _keep(self, key, vals: list[dict]) -> None:
        """Cache a boundary; a streaming chain keeps only its latest (module doc)."""
        if self.stream and self._held is not None:
            self.owner.cache.discard(self._held)
        self._held = key
        self.owner.cache.put(key, vals, _held_bytes(vals, self.owner.data.feeds))

    def _step(self, j: int, config: ModelConfig, seg_specs: tuple, vals: list[dict], plan: tuple = ()) -> list[dict]:
        """Run segment j on every batch's boundary-j tensors: boundary j+1's tensors."""
        sess, inputs, made = self._session(j, config, seg_specs, vals[0], plan)
        if made:
            self.owner.passes += 1
        out = []
        for v in vals:
            got = dict(zip(made, run_session(sess, made, {n: v[n] for n in inputs}), strict=True)) if made else {}
            for x in got.values():  # cached and fed again: never changed, so a model's host keeps them
                x.setflags(write=False)
            out.append({n: got[n] if n in got else v[n] for n in self.cuts[j + 1]})
        return out

    def _session(self, j: int, config: ModelConfig, seg_specs: tuple, first: dict, plan: tuple = ()):
        """Segment j's (session, inputs, outputs) for these specs; kept unless all float in a chain of
        configs (the float model's boundaries are computed once, then served from the cache)."""
        key = (j, seg_specs, plan)
        hit = self.sessions.get(key)
        if hit is None:
            keep = self.stream or bool(plan) or not all(s.is_float for s in seg_specs)
            if keep:
                self.sessions.reserve()  # the session it replaces goes first: never two big ones at once
            hit = self._build(j, config, seg_specs, first, plan)
            if keep:
                self.sessions.put(key, hit, 0)
        return hit

    def _build(self, j: int, config: ModelConfig, seg_specs: tuple, first: dict, plan: tuple = ()):
        """Segment j's session for these specs: (session, input names, output names)."""
        o = self.owner
        a, b = self.bounds[j], self.bounds[j + 1]
        graph = o.skeleton()
        if plan or not all(s.is_float for s in seg_specs):
            only = {x.id: config.for_layer(x.id) for x in self.groups[j] if not x.quantized}
            segment = ModelConfig(default=LayerConfig(), layers=only)  # the deployed-graph tensors follow `whole`
            built = o.sim.build(segment, base=graph, whole=config, span=(a, b))
            b += len(built.graph.node) - len(graph.graph.node)  # nodes inserted inside segment j only
            graph = built
        nodes = graph.graph.node[a:b]
        inputs = [n for n in outside_reads(nodes, {t.name for t in graph.graph.initializer}) if n in first]
        produced = {x for n in nodes for x in n.output}
        made = [n for n in self.cuts[j + 1] if n in produced]
        if not made:
            return None, [], []
        types = {n: helper.np_dtype_to_tensor_dtype(np.asarray(first[n]).dtype) for n in inputs}
        return o.session(segment_model(graph, a, b, types, made)), inputs, made


def _held_bytes(vals: list[dict], feeds: list[dict]) -> int:
    """Bytes a boundary's values hold beyond the data's own arrays (arrays passed through from an
    earlier boundary count again: an upper bound)."""
    total = 0
    for v, feed in zip(vals, feeds, strict=True):
        given = {id(x) for x in feed.values()}
        total += sum(x.nbytes for x in v.values() if id(x) not in given)
    return total
