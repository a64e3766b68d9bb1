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
from qviz.model.simulate.calibrate import activation_qparams, calibration_feeds, collect_tensors, generated_feeds
from qviz.model.simulate.graph_edit import GraphEditor, tensor_elem_type
from qviz.model.simulate.resolve import LayerSpecs, requantized, resolve_layer_specs
from qviz.model.simulate.taps import Tap, collect_taps, defining_path
from qviz.quant import quantize
from qviz.quant.affine import dequantize_linear, onnx_layout
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
        self._act_paths: dict[str, GraphPath] = {}  # layer id -> graph defining its activation input
        self._existing: dict[str, QuantInfo] | None = None
        self.weight_quantizations = 0
        self.notes: dict[str, str] = {}  # layer id -> what the last build could not do as asked

    def simulate(self, config: ModelConfig) -> bytes:
        """The simulated model of `config` as ONNX bytes."""
        return self.build(config).SerializeToString()

    def build(self, config: ModelConfig, base: ModelProto | None = None) -> ModelProto:
        """The simulated ModelProto of `config`. `base`: edited instead of self.proto, a stand-in with
        the same graph (the evaluation Runner passes one whose initializers hold no data and cuts
        a segment out of the result: copying 100 MB of weights per config would cost more)."""
        self.check_requantization(config)
        ed = GraphEditor(self.proto if base is None else base)
        self.notes = {}
        done: set[tuple[int, str]] = set()
        for layer, specs in zip(self.layers, resolve_layer_specs(self.layers, config).values(), strict=True):
            try:
                self._edit_layer(ed, layer, specs, done)
            except SpecError as e:
                raise SpecError(f"layer {layer.id!r}: {e}") from None
        return ed.finish()

    def _edit_layer(self, ed: GraphEditor, layer: Layer, specs: LayerSpecs, done: set) -> None:
        path = layer.graph_path
        if specs.weights is not None:
            x_dq = self.dequantized_weight(layer, specs.weights)
            w = ed.add_initializer(f"{layer.weight_name}_qviz", x_dq, path)
            ed.set_input(layer.position, layer.weight_input, w, path)
        if specs.activations is not None and layer.inputs and (path, layer.position, layer.inputs[0]) not in done:
            done.add((path, layer.position, layer.inputs[0]))
            self._quantize_input(ed, layer, specs)

    def existing_quantization(self) -> dict[str, QuantInfo]:
        """{layer id: its stored quantization} of the layers the model has already quantized."""
        if self._existing is None:
            self._existing = existing_quantization(self.loaded, self.layers)
        return self._existing

    def config_notes(self, config: ModelConfig) -> list[str]:
        """What `config` does not do to this model although it asks to: already-quantized layers
        its default leaves as they are (one line, empty list when there are none)."""
        left = [x.id for x in self.layers if x.quantized and not config.for_layer(x.id).is_float]
        if not left:
            return []
        infos = {k: v for k, v in self.existing_quantization().items() if k in left}
        return [
            f"{summary(infos, len(self.layers))}; the config leaves them as they are (qviz does not quantize "
            "a quantized layer again: `qviz dequantize MODEL --out FLOAT.onnx` writes the float model to quantize)"
        ]

    def check_requantization(self, config: ModelConfig) -> None:
        """SpecError when `config` explicitly quantizes an already-quantized layer (resolve.py)."""
        asked = requantized(self.layers, config)
        if asked:
            raise SpecError(requantization_problem(self.layers, self.existing_quantization(), asked))

    def weight_elem_type(self, layer: Layer) -> int:
        """ONNX element type the layer's node reads its weight as (float16 models: FLOAT16)."""
        node_input = layer_node(self.proto, layer).input[layer.weight_input]
        return tensor_elem_type(self.proto, node_input, layer.graph_path) or onnx.TensorProto.FLOAT

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
