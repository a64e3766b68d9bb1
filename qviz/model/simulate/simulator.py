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
    in the type the node reads (float16 weights stay float16);
  - activations: the layer's activation input goes through inserted nodes (act_nodes.py):
    static int/fixed_point with ranges from the calibration set (the spec's estimator, see
    calibrate.activation_qparams), dynamic per-batch int ranges, or Cast pairs for floats.
Float layers and already-quantized layers are left as they are.

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
from qviz.model.load.layer_table import Layer, layer_table
from qviz.model.load.loader import LoadedModel, load_model
from qviz.model.simulate import act_nodes
from qviz.model.simulate.byte_lru import ByteLRU
from qviz.model.simulate.calibrate import activation_qparams, calibration_feeds, collect_tensors, generated_feeds
from qviz.model.simulate.graph_edit import GraphEditor, tensor_elem_type
from qviz.model.simulate.resolve import LayerSpecs, resolve_layer_specs
from qviz.quant import quantize
from qviz.quant.spec import QuantSpec, SpecError

WEIGHT_CACHE_BYTES = 256 * 2**20
WEIGHT_CACHE_ENTRIES = 1024


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
    ):
        self.loaded = as_loaded(model)
        self.proto = self.loaded.model
        self.layers: list[Layer] = layer_table(self.loaded)
        self.calib = calib
        self._acts: dict[str, np.ndarray] | None = None
        self._weights = ByteLRU(weight_cache_bytes, weight_cache_entries)  # (weight name, spec) -> x_dq
        self._qparams: dict[tuple[str, QuantSpec], tuple] = {}
        self.weight_quantizations = 0

    def simulate(self, config: ModelConfig) -> bytes:
        """The simulated model of `config` as ONNX bytes."""
        return self.build(config).SerializeToString()

    def build(self, config: ModelConfig) -> ModelProto:
        ed = GraphEditor(self.proto)
        done: set[tuple[int, str]] = set()
        for layer, specs in zip(self.layers, resolve_layer_specs(self.layers, config).values(), strict=True):
            try:
                self._edit_layer(ed, layer, specs, done)
            except SpecError as e:
                raise SpecError(f"layer {layer.id!r}: {e}") from None
        return ed.finish()

    def _edit_layer(self, ed: GraphEditor, layer: Layer, specs: LayerSpecs, done: set) -> None:
        if specs.weights is not None:
            x_dq = self.dequantized_weight(layer, specs.weights)
            ed.set_input(layer.position, layer.weight_input, ed.add_initializer(f"{layer.weight_name}_qviz", x_dq))
        if specs.activations is not None and layer.inputs and (layer.position, layer.inputs[0]) not in done:
            done.add((layer.position, layer.inputs[0]))
            self._quantize_input(ed, layer, specs)

    def dequantized_weight(self, layer: Layer, spec: QuantSpec) -> np.ndarray:
        """The engine's x_dq of the layer's weight, in the type the node reads (cached)."""
        key = (layer.weight_name, spec)
        x_dq = self._weights.get(key)
        if x_dq is None:
            w = self.loaded.weights[layer.weight_name]
            self.weight_quantizations += 1
            node_input = self.proto.graph.node[layer.position].input[layer.weight_input]
            elem = tensor_elem_type(self.proto, node_input) or onnx.TensorProto.FLOAT
            x_dq = quantize(w.astype(np.float32), spec).x_dq.astype(onnx.helper.tensor_dtype_to_np_dtype(elem))
            x_dq.setflags(write=False)  # cached and shared: nobody may change it
            self._weights.put(key, x_dq)
        return x_dq

    def feeds(self) -> list[dict[str, np.ndarray]]:
        """The calibration feeds (generated ones when the Simulator got no calibration data)."""
        return calibration_feeds(self.proto, self.calib) if self.calib is not None else generated_feeds(self.proto)

    def activations(self) -> dict[str, np.ndarray]:
        """Every layer's activation input on the calibration set (one float-model run, cached)."""
        if self._acts is None:
            names = [x.inputs[0] for x in self.layers if x.inputs]
            self._acts = collect_tensors(self.proto, names, self.feeds(), self.loaded.executor)
        return self._acts

    def qparams(self, tensor: str, spec: QuantSpec) -> tuple[np.ndarray | np.generic, np.ndarray | np.generic]:
        """Static (scale, zero_point) of an activation tensor for `spec` (cached)."""
        key = (tensor, spec)
        if key not in self._qparams:
            self._qparams[key] = activation_qparams(self.activations()[tensor], spec)
        return self._qparams[key]

    def _quantize_input(self, ed: GraphEditor, layer: Layer, specs: LayerSpecs) -> None:
        x = layer.inputs[0]
        sample = self.activations()[x]
        spec, prefix = specs.activations, f"{x}_qviz"
        assert spec is not None  # called for layers whose activations are quantized
        if spec.scheme == "float":
            nodes, out = act_nodes.float_nodes(ed, x, prefix, spec, sample.dtype)
        elif specs.dynamic:
            nodes, out = act_nodes.dynamic_int_nodes(ed, x, prefix, spec, sample.dtype)
        else:
            scale, zp = self.qparams(x, spec)
            nodes, out = act_nodes.static_int_nodes(ed, x, prefix, spec, scale, zp, sample.ndim, sample.dtype)
        ed.insert_before(layer.position, nodes)
        node = ed.nodes[layer.position]
        for i, name in enumerate(node.input):
            if name == x:
                ed.set_input(layer.position, i, out)


def simulate(model, config: ModelConfig, calib_x=None) -> bytes:
    """One-shot: the simulated model of `config` (ONNX bytes). Use Simulator to re-simulate."""
    return Simulator(model, calib_x).simulate(config)
