"""Runner: evaluates many configs of one model on one dataset, reusing sessions, within a memory budget.

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
    >>> _ = runner.outputs(PRESETS["w8a8"])                     # again: kept, no pass
    >>> runner.sessions_built, runner.passes
    (3, 3)
    >>> runner.cache.max_bytes == DEFAULT_MEMORY_BUDGET, runner.cache.nbytes <= runner.cache.max_bytes
    (True, True)

Memory: the tensors a Runner keeps between passes (the float model's tensors at a layer's cut,
the tensors at segment boundaries, the outputs) live in one LRU bounded by
`memory_budget_bytes` (default 1 GiB; `memory_budget_for(limit)` for a worker with a memory
limit). What it evicts is computed again when needed, from the nearest boundary it still holds,
by the same sessions: results do not depend on the budget. Sessions are kept in small LRUs too
(a session holds its weights, onnxruntime's pre-packed copy and its buffers).

Three kinds of sessions:
  - one-layer configs (everything float but one layer: what sweeps and local layer errors
    run) share one switchable session per layer (layer_switch.py): the suffix of the model
    from that layer on, fed with the float model's tensors at the cut. Those are streamed
    layer by layer (a segment chain cut before every layer, segments.py): the cut of layer i+1
    is computed from layer i's, so a sweep in graph order runs the float model once in all.
  - any other config runs on a chain of segments cut at fixed positions (about equal work,
    more of them for a big model or many samples): the segments whose layers' specs did not
    change keep their sessions, and a config that differs from one evaluated before only from
    segment j on starts from the tensors kept at segment j (Tune: only what the changed
    layer feeds is computed again).
  - layer outputs as taps (what layer_errors cannot sum inside one graph, error_sums.py):
    `Simulator.build` + a new session.

# NOTE: tapped layer outputs are graph outputs, which stops fusions (Conv+Relu): sessions
# with taps are separate from the ones without.
"""

from __future__ import annotations

import numpy as np
import onnx

from qviz.config import ModelConfig
from qviz.evaluate.data import EvalData
from qviz.evaluate.layer_switch import build_switch, extra_feeds, switchable
from qviz.evaluate.segments import SegmentChain, compute_bounds, layer_bounds
from qviz.evaluate.suffix import initializer_map, strip_data, with_data
from qviz.model.runtime.session import run_session
from qviz.model.simulate.byte_lru import ByteLRU
from qviz.model.simulate.resolve import LayerSpecs, resolve_layer_specs
from qviz.model.simulate.simulator import Simulator

DEFAULT_MEMORY_BUDGET = 2**30
WORKER_SHARE = 3  # of a worker's memory limit, at most this fraction is cached tensors
LAYER_SESSIONS = 1  # switchable and tapped sessions kept (a sweep uses one layer's at a time)
CUT_SESSIONS = 2  # float segments streaming the cuts (each used once in a sweep in graph order)
MAX_ENTRIES = 1_000_000


def memory_budget_for(memory_limit_bytes: int) -> int:
    """The budget for a Runner whose sessions run in a worker limited to `memory_limit_bytes`:
    a third of it, at most DEFAULT_MEMORY_BUDGET. (The worker also holds the sessions, the data,
    the weights it is fed and each run's own tensors.)

    >>> memory_budget_for(3 * 2**30) == DEFAULT_MEMORY_BUDGET, memory_budget_for(768 * 2**20) // 2**20
    (True, 256)
    """
    return min(DEFAULT_MEMORY_BUDGET, memory_limit_bytes // WORKER_SHARE)


class Runner:
    """One model + one dataset; `outputs(config)` runs every batch (module doc)."""

    def __init__(self, sim: Simulator, data: EvalData, output_kind=None, *, memory_budget_bytes: int | None = None):
        self.sim, self.data = sim, data
        self.output_kind = output_kind  # how evaluate/sweep/search compare its outputs (output_kind.py)
        self.layers = [x for x in sim.layers if not x.quantized]
        self.sessions_built = 0
        self.passes = 0
        budget = DEFAULT_MEMORY_BUDGET if memory_budget_bytes is None else int(memory_budget_bytes)
        self.cache = ByteLRU(budget, MAX_ENTRIES, strict=True)  # tensors kept between passes
        self._sessions = ByteLRU(0, LAYER_SESSIONS)  # (layer id | None, taps) -> (session, slot) / config -> session
        self._skeleton: onnx.ModelProto | None = None
        self._inits: dict | None = None
        self.output_names = [v.name for v in sim.proto.graph.output]
        n_nodes = len(sim.proto.graph.node)
        main = [x for x in self.layers if not x.graph_path]
        self.cuts = SegmentChain(self, layer_bounds(n_nodes, main), "cut", CUT_SESSIONS, stream=True)
        bounds = compute_bounds(n_nodes, sim.layers, data.n)
        self.chain = SegmentChain(self, bounds, "config", len(bounds))  # one config's segments + a changed one
        self._float = resolve_layer_specs(sim.layers, ModelConfig())

    @property
    def memory_budget_bytes(self) -> int:
        return self.cache.max_bytes

    def float_outputs(self, names=None) -> list[np.ndarray]:
        """Outputs of the unmodified model (graph outputs, or `names`, e.g. layer outputs)."""
        if names:
            sess, _ = self._layer_session(None, True)
            return self._run(sess, names)
        return self._chain_outputs(ModelConfig(), self._float)

    def outputs(self, config: ModelConfig, names=None) -> list[np.ndarray]:
        """Outputs of the simulated `config` on every batch, concatenated along axis 0."""
        self.sim.check_requantization(config)  # an already-quantized layer asked again: SpecError
        taps = bool(names)
        names = names or self.output_names
        specs = {x.id: s for x, s in self.sim.layer_specs(config).items()}  # 7-bit weights with reduce_range
        if all(specs[x.id].is_float for x in self.layers):  # exactly the float model's numbers
            return self.float_outputs(names if taps else None)
        layer = None if self.sim.graph_plan(config) else self._single_layer(specs)  # its suffix has no graph plan
        if layer is not None:
            sess, slot = self._layer_session(layer, taps)
            if switchable(specs[layer.id], slot) and self._available(sess, layer, names):
                return self._run_suffix(sess, layer, names, specs[layer.id], slot)
        if taps:
            return self._run(self._tapped_session(config), names)
        return self._chain_outputs(config, specs)

    def _chain_outputs(self, config: ModelConfig, specs: dict) -> list[np.ndarray]:
        per_batch = self.chain.outputs(config, specs)
        return self.data.join([[v[n] for n in self.output_names] for v in per_batch])

    def _single_layer(self, specs: dict[str, LayerSpecs]):
        """The one non-float layer of a config, else None (also for a layer inside an If/Loop
        body: a suffix cannot start inside a subgraph, so it runs on the segment chain)."""
        changed = [x for x in self.layers if not specs[x.id].is_float]
        return changed[0] if len(changed) == 1 and not changed[0].graph_path else None

    def session(self, proto: onnx.ModelProto):
        """A session of a model built from this one (counted in `sessions_built`); initializers left
        without data (a skeleton's) get it first. Pass a temporary: it is freed before onnxruntime
        makes its own copies of the weights."""
        data = self._serialized(proto)
        del proto
        return self._open(data)

    def _serialized(self, proto: onnx.ModelProto) -> bytes:
        return with_data(proto, self.initializers()).SerializeToString()

    def _open(self, data: bytes):
        self.sessions_built += 1
        return self.sim.loaded.executor.session(data)

    def skeleton(self) -> onnx.ModelProto:
        """The model without its weights' data (suffix.strip_data): what segments are cut from."""
        if self._skeleton is None:
            self._skeleton = strip_data(self.sim.proto)
        return self._skeleton

    def initializers(self) -> dict:
        """{name: TensorProto} of the model's initializers (with their data)."""
        if self._inits is None:
            self._inits = initializer_map(self.sim.proto)
        return self._inits

    def release_layer_sessions(self) -> None:
        """Drop the sessions only one-layer configs use (a layer's switchable suffix, the float
        segments streaming the cuts): a search calls it before it runs full configs."""
        self._sessions.clear()
        self.cuts.sessions.clear()

    def run(self, sess, names) -> list[np.ndarray]:
        """Every batch of the data through `sess` (made by `session`), `names` fetched and joined: one pass."""
        return self._run(sess, names)

    def _run(self, sess, names) -> list[np.ndarray]:
        self.passes += 1
        return self.data.join([run_session(sess, list(names), feed) for feed in self.data.feeds])

    def cut(self, layer) -> list[dict[str, np.ndarray]]:
        """Per batch, the float tensors at `layer`'s cut (suffix.cut_names; graph inputs included),
        streamed from the previous layer's (module doc)."""
        return self.cuts.values(self.cuts.index(layer.position), ModelConfig(), self._float)

    def _available(self, sess, layer, names) -> bool:
        """Can the suffix session (or its cut) give every name? (Not a tap before the cut.)"""
        have = {v.name for v in sess.get_outputs()} | set(self.cuts.cuts[self.cuts.index(layer.position)])
        return all(n in have for n in names)

    def _run_suffix(self, sess, layer, names, specs: LayerSpecs, slot) -> list[np.ndarray]:
        """Run the layer's suffix session on every batch, fed from the float cut."""
        cuts = self.cut(layer)
        extra = extra_feeds(self, layer, specs, slot, cuts[0][slot].ndim if slot else 0)
        self.passes += 1
        made = {v.name for v in sess.get_outputs()}
        run = [n for n in names if n in made]
        parts = []
        for cut in cuts:
            out = dict(zip(run, run_session(sess, run, {**cut, **extra}), strict=True)) if run else {}
            parts.append([out[n] if n in out else cut[n] for n in names])
        return self.data.join(parts)

    def _tapped_session(self, config: ModelConfig):
        key = ("config", config.to_json())
        sess = self._sessions.get(key)
        if sess is None:
            self._sessions.reserve()
            sess = self.session(_with_outputs(self.sim.build(config, base=self.skeleton()), self._tap_names()))
            self._sessions.put(key, sess, 0)
        return sess

    def _tap_names(self) -> list[str]:
        """Main-graph layers' outputs (a subgraph's tensors cannot be graph outputs)."""
        return [x.outputs[0] for x in self.layers if x.outputs and not x.graph_path]

    def _layer_session(self, layer, taps: bool):
        """(session, activation slot) with `layer` switchable (None: the float model)."""
        key = (None if layer is None else layer.id, taps)
        hit = self._sessions.get(key)
        if hit is None:
            self._sessions.reserve()  # the session it replaces goes first: never two big ones at once
            proto, slot = self._layer_model(layer, taps)
            data = self._serialized(proto)
            del proto  # freed before onnxruntime makes its own copies of the weights
            hit = (self._open(data), slot)
            self._sessions.put(key, hit, 0)
        return hit

    def _layer_model(self, layer, taps: bool) -> tuple[onnx.ModelProto, str | None]:
        """The switchable suffix of `layer` (None: the whole float model) and its activation slot,
        with the layer outputs it makes as extra outputs when `taps`; initializers without data."""
        if layer is None:
            proto, slot = _with_outputs(self.skeleton(), []), None  # a copy: _serialized fills it in
        else:
            proto, slot = build_switch(self, layer, self.cut(layer)[0], self._shares_input(layer))
        if not taps:
            return proto, slot
        produced = {o for n in proto.graph.node for o in n.output}
        return _with_outputs(proto, [n for n in self._tap_names() if n in produced]), slot

    def _shares_input(self, layer) -> bool:
        """True when an earlier layer of the same node owns the activation (LSTM W and R)."""
        return any(
            o.position == layer.position and o.graph_path == layer.graph_path
            for o in self.layers[: self.layers.index(layer)]
        )


def _with_outputs(proto: onnx.ModelProto, names: list[str]) -> onnx.ModelProto:
    """A copy of proto with `names` added as graph outputs (type left to onnxruntime)."""
    m = onnx.ModelProto()
    m.CopyFrom(proto)
    have = {v.name for v in m.graph.output}
    m.graph.output.extend(onnx.ValueInfoProto(name=n) for n in dict.fromkeys(names) if n not in have)
    return m
