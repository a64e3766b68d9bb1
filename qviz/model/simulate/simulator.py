"""The simulated model: what a config does to accuracy, for any scheme, run in onnxruntime.

    >>> from qviz.config import PRESETS, LayerConfig
    >>> from qviz.quant import QuantSpec
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_cnn")
    >>> sim = Simulator(sample.model_bytes, sample.calibration.x)   # holds the model and its caches
    >>> data = sim.simulate(PRESETS["w8a8"])           # ONNX bytes
    >>> sim.weight_quantizations                       # 5 layers
    5
    >>> fc = sim.layers[-1].id
    >>> data = sim.simulate(PRESETS["w8a8"].with_layer(fc, LayerConfig(QuantSpec(bits=3), None)))
    >>> sim.weight_quantizations                       # only the last layer was quantized again
    6

Per quantized layer:
  - weights: replaced by the engine's dequantized values (`qviz.quant.quantize(w, spec).x_dq`,
    any scheme: int, fixed_point, log, kmeans, float formats) in a new initializer, stored
    in the type the node reads (float16 weights stay float16; int codes then dequantize with
    a float16 scale, as the deployed float16 model's DequantizeLinear does);
  - activations: the layer's activation input goes through inserted nodes (act_nodes.py):
    static int/fixed_point with ranges from the calibration set (the spec's estimator, see
    calibrate.activation_qparams; float16 tensors get float16 scales), dynamic per-batch
    int ranges, or Cast pairs for floats.
Layers inside If branches and Loop/Scan bodies are edited in their own graph; their inputs
are calibrated through taps (taps.py). A branch the calibration data never took has no range:
its static activations stay float and `notes` says so.
Float layers are left as they are, and so are already-quantized layers: the config's default
does not touch them (`config_notes` says so), an explicit entry for one is a SpecError
(`check_requantization`; prequantized.py describes what they store).

Scope (ModelConfig.activation_scope): "graph" (the presets with static activations) also
fake-quantizes every tensor the deployed model quantizes around the other ops (Add, Mul,
Softmax, pooling... and their 8-bit constants), exactly as deploy will: deployed_graph.py decides
which, graph_plan gives their qparams (from this Simulator's float calibration, shared with
deploy). "layers": only the layers' own inputs (the old behaviour, labelled so).
reduce_range (None: deployed_graph.needs_reduce_range(), x86 without VNNI): the 8-bit weights of
QDQ layers are simulated as 7-bit, as deploy writes them: one decision, `layer_specs`.

Caches (why changing one layer is cheap): the calibration run of the float model is done
once per Simulator (every layer input is collected); the dequantized weights are cached per
(weight name, spec) in an LRU bounded by bytes and entries (WEIGHT_CACHE_BYTES = 256 MiB,
WEIGHT_CACHE_ENTRIES = 1024; byte_lru.py), and the activation qparams per (tensor, spec).
Changing one layer's spec therefore quantizes only that layer again, as long as the other
layers' weights are still cached; `weight_quantizations` counts the engine calls (an evicted
weight needed again counts again).
Without calibration data, generated inputs are used (calibrate.generated_feeds).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import ModelProto

from qviz.config import ModelConfig
from qviz.model.load.layer_table import Layer, layer_node, layer_table
from qviz.model.load.loader import LoadedModel, load_model
from qviz.model.load.model_inputs import fitting_dim
from qviz.model.load.prequantized import QuantInfo, existing_quantization, requantization_problem, summary
from qviz.model.load.subgraphs import GraphPath, path_text
from qviz.model.simulate import act_nodes
from qviz.model.simulate.byte_lru import ByteLRU
from qviz.model.simulate.calibrate import (
    activation_qparams,
    calibration_feeds,
    collect_ranges,
    collect_tensors,
    generated_feeds,
)
from qviz.model.simulate.deployed_graph import (
    DeployedTensors,
    deploys_qdq,
    extra_spec,
    find_deployed_tensors,
    needs_reduce_range,
    quantized_in_graph,
    reduced_weights,
)
from qviz.model.simulate.graph_edit import ElemTypes, GraphEditor
from qviz.model.simulate.resolve import LayerSpecs, requantized, resolve_layer_specs
from qviz.model.simulate.taps import Tap, collect_taps, defining_path
from qviz.quant import quantize
from qviz.quant.affine import dequantize_linear, onnx_layout
from qviz.quant.qparams import qparams_from_range
from qviz.quant.spec import QuantSpec, SpecError

WEIGHT_CACHE_BYTES = 256 * 2**20
WEIGHT_CACHE_ENTRIES = 1024
PLANS = 16  # graph_plan results kept (the Runner asks several times per pass)
DRY_RUNS = 8  # deployed_graph dry runs kept (one per set of layers a config leaves out of QDQ)


def as_loaded(model) -> LoadedModel:
    """A LoadedModel from a LoadedModel, bytes, a path or a ModelProto."""
    if isinstance(model, LoadedModel):
        return model
    if isinstance(model, ModelProto):
        return load_model(model.SerializeToString())
    return load_model(model)


class Simulator:
    """A loaded model plus the caches that make re-simulating after a small change cheap."""

    def __init__(
        self,
        model,
        calib=None,
        *,
        weight_cache_bytes: int = WEIGHT_CACHE_BYTES,
        weight_cache_entries: int = WEIGHT_CACHE_ENTRIES,
        reduce_range: bool | None = None,
    ):
        self.loaded = as_loaded(model)
        # one decision for the simulation and for deploy (deployed_graph.needs_reduce_range)
        self.reduce_range = needs_reduce_range() if reduce_range is None else reduce_range
        self.proto = self.loaded.model
        self.layers: list[Layer] = layer_table(self.loaded)
        self.calib = calib
        self._acts: dict[str, np.ndarray] | None = None
        self._weights = ByteLRU(weight_cache_bytes, weight_cache_entries)  # (weight name, spec) -> x_dq
        self._qparams: dict[tuple[str, QuantSpec], tuple] = {}
        self._act_paths: dict[str, GraphPath] = {}  # layer id -> graph defining its activation input
        self._existing: dict[str, QuantInfo] | None = None
        self.weight_quantizations = 0
        self.notes: dict[str, str] = {}  # layer id -> what the last build could not do as asked
        self._deployed: dict[frozenset[str], DeployedTensors] = {}  # excluded layer ids -> dry run
        self.dry_run_error = ""  # why deployed_graph's dry run failed (then: the layers' inputs only)
        self._plans: dict[ModelConfig, dict[str, tuple]] = {}  # the latest PLANS graph_plan results
        self._ranges: dict[str, tuple | None] = {}  # deployed-graph tensor -> (lo, hi, dtype, ndim)
        self._producers: dict[str, tuple[int, int]] | None = None  # main-graph tensor -> (node, slot)
        self._elem_types: dict[GraphPath, ElemTypes] = {}  # per graph path, built once (linear in layers)

    def simulate(self, config: ModelConfig) -> bytes:
        """The simulated model of `config` as ONNX bytes."""
        return self.build(config).SerializeToString()

    def build(
        self,
        config: ModelConfig,
        base: ModelProto | None = None,
        *,
        whole: ModelConfig | None = None,
        span: tuple[int, int] | None = None,
    ) -> ModelProto:
        """The simulated ModelProto of `config`. `base`: edited instead of self.proto, a stand-in with
        the same graph (the evaluation Runner passes one whose initializers hold no data and cuts
        a segment out of the result: copying 100 MB of weights per config would cost more).
        A segment build (the Runner's) passes `whole`, the full config the deployed-graph tensors
        follow (graph_plan), and `span`, the main-graph nodes [a, b) whose tensors it edits."""
        self.check_requantization(config)
        ed = GraphEditor(self.proto if base is None else base)
        self.notes = {}
        plan = self.graph_plan(whole if whole is not None else config)
        handled = self._quantize_graph_tensors(ed, plan, span, whole if whole is not None else config)
        done: set[tuple[int, str]] = set()
        for layer, specs in self.layer_specs(config).items():
            try:
                self._edit_layer(ed, layer, specs, done, handled)
            except SpecError as e:
                raise SpecError(f"layer {layer.id!r}: {e}") from None
        return ed.finish()

    def layer_specs(self, config: ModelConfig) -> dict[Layer, LayerSpecs]:
        """{layer: its resolved specs} as simulated and deployed: with reduce_range, the 8-bit
        weights of QDQ layers become 7-bit (the deployed model's codes; deployed_graph)."""
        specs = resolve_layer_specs(self.layers, config)
        out = {}
        for layer in self.layers:
            s = specs[layer.id]
            out[layer] = reduced_weights(s) if self.reduce_range and deploys_qdq(layer, s) else s
        return out

    def _edit_layer(self, ed: GraphEditor, layer: Layer, specs: LayerSpecs, done: set, handled: set) -> None:
        path = layer.graph_path
        if specs.weights is not None:
            x_dq = self.dequantized_weight(layer, specs.weights)
            w = ed.add_initializer(f"{layer.weight_name}_qviz", x_dq, path)
            ed.set_input(layer.position, layer.weight_input, w, path)
        if not path and layer.inputs and layer.inputs[0] in handled and quantized_in_graph(layer, specs):
            return  # its input is quantized where it is made (graph_plan), for every reader
        if specs.activations is not None and layer.inputs and (path, layer.position, layer.inputs[0]) not in done:
            done.add((path, layer.position, layer.inputs[0]))
            self._quantize_input(ed, layer, specs)

    def deployed_tensors(self, excluded: frozenset[str] = frozenset()) -> DeployedTensors:
        """The dry run of deployed_graph with the layers `excluded` (ids) left out of quantize_static,
        as deploy leaves out the layers that are not QDQ (cached: it depends on the model, that set
        and reduce_range only; at most DRY_RUNS kept)."""
        found = self._deployed.get(excluded)
        if found is None:
            layers = [x for x in self.layers if x.id in excluded]
            try:
                found = find_deployed_tensors(self.loaded, layers, reduce_range=self.reduce_range)
            except Exception as e:  # noqa: BLE001 - onnxruntime's tool fails in its own ways (asserts)
                # NOTE: deploy would fail the same way and say so; the simulation goes on with the
                # layers' inputs only, and config_notes tells
                self.dry_run_error = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:200]
                found = DeployedTensors()
            if len(self._deployed) >= DRY_RUNS:
                self._deployed.pop(next(iter(self._deployed)))
            self._deployed[excluded] = found
        return found

    def excluded_layers(self, config: ModelConfig) -> frozenset[str]:
        """Ids of the main-graph layers `config` leaves out of the QDQ graph (float, weight-only,
        float16, dynamic: deploy puts their nodes in nodes_to_exclude; deployed_graph.quantized_in_graph)."""
        specs = self.layer_specs(config)
        return frozenset(
            x.id for x in self.layers if not x.quantized and not x.graph_path and not quantized_in_graph(x, specs[x])
        )

    def graph_plan(self, config: ModelConfig) -> dict[str, tuple]:
        """{main-graph tensor: (spec, scale, zero_point, dtype, ndim)} of every activation the deployed
        model of `config` quantizes (deployed_graph), the layers' own inputs among them; {} for the
        scope "layers" and for a config without a QDQ layer (deploy then runs no quantize_static).

        A tensor's qparams: those of the layer input it is or shares a scale with (the layer's
        spec, its estimator), else extra_spec min-max over the float calibration run; float16
        tensors get float16-rounded scales. The qparams depend on the calibration only (cached per
        tensor), the plan on the config (the latest PLANS kept).
        """
        if config.activation_scope != "graph":
            return {}
        plan = self._plans.get(config)
        if plan is None:
            plan = self._plans[config] = self._graph_plan(config)
            if len(self._plans) > PLANS:
                self._plans.pop(next(iter(self._plans)))
        return plan

    def _graph_plan(self, config: ModelConfig) -> dict[str, tuple]:
        specs = self.layer_specs(config)
        qdq = [x for x in self.layers if quantized_in_graph(x, specs[x])]
        if not qdq:
            return {}
        found = self.deployed_tensors(self.excluded_layers(config))
        inputs = {x.inputs[0]: (x, specs[x].activations) for x in reversed(qdq)}  # first reader wins
        ranges = self.graph_ranges(set(found.activations.values()) - set(inputs))
        plan = {}
        for t, source in found.activations.items():
            params = self._tensor_qparams(source, inputs, ranges, config)
            if params is not None:
                plan[t] = params
        return plan

    def graph_plan_parts(self, config: ModelConfig, bounds: list[int]) -> list[tuple]:
        """Per segment [bounds[k], bounds[k+1]) of the main graph, the (tensor, spec, scale, zero
        point) of graph_plan(config) it edits (where the tensor is made; a graph input: where it
        is read, since it is quantized before each reader): what a segment's session and
        boundaries depend on besides its layers' specs.

        # NOTE: a graph input listed in every segment would make a change of its spec rebuild
        # every segment, though only the segments reading it change.
        """
        plan = self.graph_plan(config)
        parts: list[list] = [[] for _ in range(len(bounds) - 1)]
        if not plan:
            return [()] * len(parts)
        producers = self._producers_map()
        nodes = self.proto.graph.node
        for t, (spec, scale, zp, _dtype, _ndim) in sorted(plan.items()):
            item = (t, spec, float(np.asarray(scale).reshape(-1)[0]), int(np.asarray(zp).reshape(-1)[0]))
            p = producers.get(t)
            where = [p[0]] if p is not None else [i for i, n in enumerate(nodes) if t in n.input]
            for k in range(len(parts)):
                if not where or any(bounds[k] <= i < bounds[k + 1] for i in where):
                    parts[k].append(item)
        return [tuple(x) for x in parts]

    def _tensor_qparams(self, source: str, inputs: dict, ranges: dict, config: ModelConfig) -> tuple | None:
        if source in inputs:
            layer, spec = inputs[source]
            if self.uncalibrated(layer):
                return None
            key = self.activation_key(layer)
            assert key is not None  # a QDQ layer of the main graph reads an activation
            sample = self.activations()[key]
            return (spec, *self.qparams(key, spec), sample.dtype, sample.ndim)
        r = ranges.get(source)
        if r is None:
            return None
        lo, hi, dtype, ndim = r
        spec = extra_spec(config.default.activations)
        scale, zp = qparams_from_range(lo, hi, spec.qmin, spec.qmax, spec.symmetric)
        scale, zp = scale.reshape(()), zp.reshape(())
        if dtype == np.float16:
            scale = np.asarray(scale, np.float32).astype(np.float16).astype(np.float32)
        return spec, scale, zp, dtype, ndim

    def graph_ranges(self, names) -> dict[str, tuple]:
        """{tensor: (lo, hi, dtype, ndim)} over the calibration set of `names` (float runs of the
        missing ones, min and max only; cached: the ranges depend on the calibration only)."""
        missing = sorted(set(names) - set(self._ranges))
        if missing:
            self._ranges.update(collect_ranges(self.proto, missing, self.feeds(), self.loaded.executor))
            self._ranges.update({x: None for x in missing if x not in self._ranges})  # not a float tensor
        return {x: r for x in names if (r := self._ranges.get(x)) is not None}

    def _producers_map(self) -> dict[str, tuple[int, int]]:
        if self._producers is None:
            self._producers = {o: (i, j) for i, n in enumerate(self.proto.graph.node) for j, o in enumerate(n.output)}
        return self._producers

    def _quantize_graph_tensors(
        self, ed: GraphEditor, plan: dict, span: tuple[int, int] | None, config: ModelConfig
    ) -> set[str]:
        """Fake-quantize every planned tensor where it is made: its producer writes `<t>_qviz_float`
        and the inserted nodes write `t`, so every reader (graph outputs, segment cuts) sees the
        deployed values under the same name. A graph input is quantized before each reader.
        Only nodes in `span` are edited (a segment build). Returns the tensors quantized."""
        a, b = span if span is not None else (0, len(self.proto.graph.node))
        producers, done = self._producers_map(), set()
        sources = self.deployed_tensors(self.excluded_layers(config)).activations if plan else {}
        for t, (spec, scale, zp, dtype, ndim) in plan.items():
            if sources.get(t, t) != t and sources[t] in plan:
                done.add(
                    t
                )  # NOTE: a Reshape/MaxPool/Split... output on its input's grid: quantizing it again is the identity
                continue
            if t in producers:
                p, slot = producers[t]
                if a <= p < b:
                    ed.graph().node[p].output[slot] = ed.unique(f"{t}_qviz_float")
                    nodes, _ = act_nodes.static_int_nodes(
                        ed, ed.graph().node[p].output[slot], f"{t}_qviz", spec, scale, zp, ndim, dtype, clip=True
                    )
                    nodes[-1].output[0] = t
                    ed.insert_before(p + 1, nodes)
            else:
                for i, node in enumerate(self.proto.graph.node):
                    if a <= i < b and t in node.input:
                        nodes, out = act_nodes.static_int_nodes(
                            ed, t, f"{t}_qviz", spec, scale, zp, ndim, dtype, clip=True
                        )
                        ed.insert_before(i, nodes)
                        for j, name in enumerate(node.input):
                            if name == t:
                                ed.set_input(i, j, out)
            done.add(t)
        if plan:
            self._replace_constants(ed, self.deployed_tensors(self.excluded_layers(config)), a, b)
        return done

    def _replace_constants(self, ed: GraphEditor, found: DeployedTensors, a: int, b: int) -> None:
        """The deployed 8-bit constants of the non-layer ops (an Add's bias, a LayerNormalization's
        scale: deployed_graph) in place of their float initializers."""
        own = {n for x in self.layers for n in (x.weight_name, x.bias_name) if n}
        consts = {k: v for k, v in found.constants.items() if k not in own}
        names: dict[str, str] = {}
        for i, node in enumerate(self.proto.graph.node):
            if not a <= i < b:
                continue
            for j, name in enumerate(node.input):
                if name in consts:
                    if name not in names:
                        names[name] = ed.add_initializer(f"{name}_qviz", consts[name])
                    ed.set_input(i, j, names[name])

    def existing_quantization(self) -> dict[str, QuantInfo]:
        """{layer id: its stored quantization} of the layers the model has already quantized."""
        if self._existing is None:
            self._existing = existing_quantization(self.loaded, self.layers)
        return self._existing

    def config_notes(self, config: ModelConfig) -> list[str]:
        """What `config` does not do to this model although it asks to: already-quantized layers
        its default leaves as they are (one line, empty list when there are none)."""
        out = []
        if config.activation_scope == "graph" and self.graph_plan(config) == {} and self.dry_run_error:
            out.append(
                "only the layers' inputs are simulated: onnxruntime's quantizer could not say which other "
                f"tensors the deployed model quantizes ({self.dry_run_error})"
            )
        left = [x.id for x in self.layers if x.quantized and not config.for_layer(x.id).is_float]
        if not left:
            return out
        infos = {k: v for k, v in self.existing_quantization().items() if k in left}
        return [
            *out,
            f"{summary(infos, len(self.layers))}; the config leaves them as they are (qviz does not quantize "
            "a quantized layer again: `qviz dequantize MODEL --out FLOAT.onnx` writes the float model to quantize)",
        ]

    def check_requantization(self, config: ModelConfig) -> None:
        """SpecError when `config` explicitly quantizes an already-quantized layer (resolve.py)."""
        asked = requantized(self.layers, config)
        if asked:
            raise SpecError(requantization_problem(self.layers, self.existing_quantization(), asked))

    def weight_elem_type(self, layer: Layer) -> int:
        """ONNX element type the layer's node reads its weight as (float16 models: FLOAT16)."""
        node_input = layer_node(self.proto, layer).input[layer.weight_input]
        return self.elem_type(node_input, layer.graph_path) or onnx.TensorProto.FLOAT

    def elem_type(self, name: str, path: GraphPath = ()) -> int | None:
        """graph_edit.tensor_elem_type of the original model, from maps built once per graph path."""
        if path not in self._elem_types:
            self._elem_types[path] = ElemTypes(self.proto, path)
        return self._elem_types[path](name)

    def dequantized_weight(self, layer: Layer, spec: QuantSpec) -> np.ndarray:
        """The engine's x_dq of the layer's weight, in the type the node reads (cached).

        float16 nodes with int weights get what onnxruntime's DequantizeLinear computes from
        the engine's codes and a float16 scale, fp16((q - z) * fp16(scale)): a deployed
        float16 model stores its scales in float16 (as onnxruntime's quantizer does).
        """
        key = (layer.weight_name, spec)
        x_dq = self._weights.get(key)
        if x_dq is None:
            w = self.loaded.weights[layer.weight_name]
            self.weight_quantizations += 1
            dtype = onnx.helper.tensor_dtype_to_np_dtype(self.weight_elem_type(layer))
            r = quantize(w.astype(np.float32), spec)
            if dtype == np.float16 and spec.scheme == "int" and r.q is not None and r.scale is not None:
                scale16 = np.asarray(r.scale, np.float32).astype(np.float16).astype(np.float32)
                assert r.zero_point is not None  # scheme int sets q, scale and zero_point
                x_dq = dequantize_linear(r.q, scale16, r.zero_point, *onnx_layout(spec)).astype(np.float16)
            else:
                x_dq = r.x_dq.astype(dtype)
            x_dq.setflags(write=False)  # cached and shared: nobody may change it
            self._weights.put(key, x_dq)
        return x_dq

    def feeds(self) -> list[dict[str, np.ndarray]]:
        """The calibration feeds (generated ones when the Simulator got no calibration data)."""
        if self.calib is not None:
            return calibration_feeds(self.proto, self.calib)
        return generated_feeds(self.proto, dim_default=fitting_dim(self.loaded, start=1))

    def activation_key(self, layer: Layer) -> str | None:
        """The key of `layer`'s activation input in activations() and qparams(): its name when
        the main graph defines it, else `name@path` (names may repeat in sibling If branches)."""
        if not layer.inputs:
            return None
        path = self._act_paths.get(layer.id)
        if path is None:
            path = self._act_paths[layer.id] = defining_path(self.proto, layer.graph_path, layer.inputs[0])
        return layer.inputs[0] if not path else f"{layer.inputs[0]}@{path_text(path)}"

    def activations(self) -> dict[str, np.ndarray]:
        """Every layer's activation input on the calibration set (one float-model run, cached).

        Inputs computed inside If branches and Loop/Scan bodies come out through taps (taps.py);
        one in a branch the calibration data never took is missing (see `uncalibrated`).
        """
        if self._acts is None:
            names, taps, tap_keys = [], [], []
            for x in self.layers:
                key = self.activation_key(x)
                if key is None or key in tap_keys or key in names:
                    continue
                path = self._act_paths[x.id]
                if not path:
                    names.append(key)
                else:
                    taps.append(Tap(path, x.inputs[0], self.weight_elem_type(x)))
                    tap_keys.append(key)
            feeds = self.feeds()
            self._acts = collect_tensors(self.proto, names, feeds, self.loaded.executor)
            for key, value in zip(tap_keys, collect_taps(self.proto, taps, feeds, self.loaded.executor), strict=True):
                if value is not None:
                    self._acts[key] = value
        return self._acts

    def uncalibrated(self, layer: Layer) -> bool:
        """True when `layer`'s input was never computed on the calibration data (an If branch
        not taken): it has no activation range, and its activations stay float (a note says so)."""
        key = self.activation_key(layer)
        return key is not None and key not in self.activations()

    def qparams(self, tensor: str, spec: QuantSpec) -> tuple[np.ndarray | np.generic, np.ndarray | np.generic]:
        """Static (scale, zero_point) of an activation tensor (an activation_key) for `spec` (cached).

        A float16 tensor gets its scale rounded to float16 (kept as float32 values): the deployed
        float16 model's QuantizeLinear/DequantizeLinear hold float16 scales.
        """
        key = (tensor, spec)
        if key not in self._qparams:
            x = self.activations()[tensor]
            scale, zp = activation_qparams(x, spec)
            if x.dtype == np.float16:
                scale = np.asarray(scale, np.float32).astype(np.float16).astype(np.float32)
            self._qparams[key] = scale, zp
        return self._qparams[key]

    def _quantize_input(self, ed: GraphEditor, layer: Layer, specs: LayerSpecs) -> None:
        x, path, key = layer.inputs[0], layer.graph_path, self.activation_key(layer)
        spec, prefix = specs.activations, f"{x}_qviz"
        assert spec is not None and key is not None  # called for layers whose activations are quantized
        static = spec.scheme != "float" and not specs.dynamic
        if static and self.uncalibrated(layer):
            self.notes[layer.id] = "activations left float: its branch never ran on the calibration data (no range)"
            return
        sample = self.activations().get(key)
        dtype = (
            sample.dtype if sample is not None else onnx.helper.tensor_dtype_to_np_dtype(self.weight_elem_type(layer))
        )
        if spec.scheme == "float":
            nodes, out = act_nodes.float_nodes(ed, x, prefix, spec, dtype)
        elif specs.dynamic:
            nodes, out = act_nodes.dynamic_int_nodes(ed, x, prefix, spec, dtype)
        else:
            assert sample is not None  # not uncalibrated
            scale, zp = self.qparams(key, spec)
            nodes, out = act_nodes.static_int_nodes(ed, x, prefix, spec, scale, zp, sample.ndim, dtype)
        ed.insert_before(layer.position, nodes, path)
        node = layer_node(ed.model, layer)
        for i, name in enumerate(node.input):
            if name == x:
                ed.set_input(layer.position, i, out, path)


def simulate(model, config: ModelConfig, calib_x=None) -> bytes:
    """One-shot: the simulated model of `config` (ONNX bytes). Use Simulator to re-simulate."""
    return Simulator(model, calib_x).simulate(config)
