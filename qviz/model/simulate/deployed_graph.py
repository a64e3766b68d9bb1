"""Which tensors the deployed model quantizes: one decision for the Simulator and for deploy.

onnxruntime's `quantize_static` (QDQ) quantizes more than the inputs of Conv/Gemm/MatMul: by
default every op type of its registries (`onnxruntime.quantization.registry`: QLinearOpsRegistry
and QDQRegistry, e.g. Add, Mul, Concat, Softmax, LayerNormalization, Gelu, pooling, Reshape,
Transpose...) gets a QuantizeLinear -> DequantizeLinear pair on its float inputs and outputs, and
its constant inputs (an Add's bias, a LayerNormalization's scale) become 8-bit codes. Its
per-op rules are many (data-movement ops share their input's scale, a removable Relu/Clip is
folded into the next Q, Softmax gets a fixed [0, 1] range...), so qviz does not copy them: it
asks the quantizer itself. A *dry run* of `quantize_static` on the float model, with a made-up
calibration range for every tensor and no data (its calibration cache:
ort_quantizer's `calibration_ranges`), writes the QDQ graph; `find_deployed_tensors` reads it:

    activations   {tensor: source}  every main-graph activation that gets a Q -> DQ pair; `source`
                  is the tensor whose scale it uses (itself, or e.g. a Reshape's input: onnxruntime
                  names each scale "<source>_scale")
    constants     {initializer: values}  the non-layer initializers the quantizer stores as 8-bit
                  codes, dequantized (their codes depend only on their own values, not on data)

The Simulator fake-quantizes these tensors too (scope "graph", ModelConfig.activation_scope) with
qparams from its own float calibration (min-max, the config's default static activation spec or
uint8 asymmetric: `extra_spec`), and deploy hands every one of those qparams to quantize_static as
TensorQuantOverrides: both runtimes use the same numbers. Scope "layers" is the old behaviour:
only the layers' own inputs.

    >>> from qviz.model import load_model
    >>> from qviz.samples import load_sample
    >>> found = find_deployed_tensors(load_model(load_sample("digits_transformer").model_bytes))  # no layer excluded
    >>> found.activations["/blocks/blocks.0/attn/Reshape_output_0"]    # shares the qkv Add's scale
    '/blocks/blocks.0/attn/qkv/Add_output_0'
    >>> [k for k in sorted(found.constants) if k.startswith("blocks.0.ln")]   # a LayerNorm's scale: int8 codes
    ['blocks.0.ln1.weight', 'blocks.0.ln2.weight']

The set depends on the config only through which layers deploy as QDQ (the others are excluded
nodes: around a float Conv, a Relu's output may stay float), so the Simulator runs one dry run per
set of excluded layers (cached; the presets need one). int32 biases (input scale x weight scale)
stay float in the simulation: their rounding is far below one step of the op's output.

# NOTE: tensors inside If/Loop/Scan bodies are not quantized by quantize_static (it leaves
# subgraphs alone), so none are listed; a main-graph tensor read implicitly by a subgraph is.
# NOTE: reduce_range (needs_reduce_range: x86 without VNNI) gives 7-bit weights to the QDQ
# layers *and* to these constants: the dry run gets the same flag as deploy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import onnx
from onnx import ModelProto

from qviz.model.load.layer_table import Layer
from qviz.model.runtime.executor import LOCAL
from qviz.model.safety import inline_array
from qviz.model.simulate import dry_run_windows
from qviz.model.simulate.resolve import LayerSpecs
from qviz.quant.spec import QuantSpec

QDQ_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")
QDQ_WEIGHT_BITS = (4, 7, 8)
QDQ_ACT_BITS = (8, 16)
SCOPES = ("graph", "layers")


@dataclass(frozen=True)
class DeployedTensors:
    """What the deployed graph quantizes besides the layers' weights (module doc)."""

    activations: dict[str, str] = field(default_factory=dict)  # tensor -> tensor whose scale it uses
    constants: dict[str, np.ndarray] = field(default_factory=dict)  # initializer -> deployed values


def needs_reduce_range() -> bool:
    """True on x86 CPUs without VNNI (/proc/cpuinfo): their u8 x s8 kernels saturate int16 sums."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return " avx2" in flags and "vnni" not in flags


def deploys_qdq(layer: Layer, specs: LayerSpecs) -> bool:
    """Does this layer deploy through quantize_static (int weights + static int activations on a
    main-graph Conv/ConvTranspose/Gemm/MatMul)? The rule of deploy's native.native_form "qdq"."""
    w, a = specs.weights, specs.activations
    return (
        not layer.quantized
        and not layer.graph_path
        and layer.op_type in QDQ_OPS
        and w is not None
        and w.scheme == "int"
        and w.bits in QDQ_WEIGHT_BITS
        and w.granularity != "group"
        and a is not None
        and not specs.dynamic
        and a.scheme in ("int", "fixed_point")
        and a.bits in QDQ_ACT_BITS
        and a.granularity == "tensor"
    )


def quantized_in_graph(layer: Layer, specs: LayerSpecs) -> bool:
    """Is this layer one the deployed graph quantizes around: a main-graph Conv/ConvTranspose/Gemm/
    MatMul with static int activations? For a deployable config the same layers as deploys_qdq; a
    simulation-only weight spec (3 or 6 bits, groups) counts as if it deployed, so the graph around
    it is the one the nearest deployable config would have (and needs no dry run of its own)."""
    a = specs.activations
    return (
        not layer.quantized
        and not layer.graph_path
        and layer.op_type in QDQ_OPS
        and a is not None
        and not specs.dynamic
        and a.scheme in ("int", "fixed_point")
    )


def reduced_weights(specs: LayerSpecs) -> LayerSpecs:
    """`specs` with 7-bit weights where reduce_range applies (8-bit weights of a QDQ layer)."""
    w = specs.weights
    return replace(specs, weights=w.replace(bits=7)) if w is not None and w.bits == 8 else specs


def extra_spec(default_activations: QuantSpec | None) -> QuantSpec:
    """The spec of the tensors around non-layer ops: the config's default static activation spec
    when it is an 8-bit per-tensor int one (onnxruntime's activation_type), min-max estimator
    (onnxruntime's calibration); else uint8 asymmetric min-max (onnxruntime's default).

    >>> extra_spec(None).bits, extra_spec(None).signed, extra_spec(None).symmetric
    (8, False, False)
    """
    a = default_activations
    if a is not None and a.scheme == "int" and a.bits == 8 and a.granularity == "tensor":
        return QuantSpec(bits=8, signed=a.signed, symmetric=a.symmetric, estimator="minmax")
    return QuantSpec(bits=8, signed=False, symmetric=False, estimator="minmax")


def find_deployed_tensors(loaded, excluded: Sequence[Layer] = (), *, reduce_range: bool = False) -> DeployedTensors:
    """The dry run (module doc) on `loaded` (a LoadedModel): which tensors quantize_static quantizes
    when the `excluded` layers' nodes are in nodes_to_exclude (as deploy excludes the layers that do
    not deploy as QDQ: float, weight-only, float16). Runs in windows of the graph
    (dry_run_windows: linear in nodes, the same answer) when it has more nodes than one window."""
    proto = _named(loaded.model)
    exclude = [proto.graph.node[x.position].name for x in excluded if not x.graph_path]
    executor = getattr(loaded, "executor", LOCAL)

    ranges = _made_up_ranges(proto)  # one range per tensor of the whole graph: same scales in every window

    def run(model: ModelProto, names: list[str]) -> tuple[dict, dict]:
        found = _dry_run(model, names, executor, reduce_range, ranges)
        return found.activations, found.constants

    if len(proto.graph.node) > dry_run_windows.WINDOW_NODES:
        merged = dry_run_windows.windowed_dry_run(proto, exclude, run, dry_run_windows.WINDOW_NODES)
        if merged is not None:
            return DeployedTensors(*merged)
    return _dry_run(proto, exclude, executor, reduce_range)


def find_deployed_tensors_full(
    loaded, excluded: Sequence[Layer] = (), *, reduce_range: bool = False
) -> DeployedTensors:
    """find_deployed_tensors as one dry run of the whole graph (quadratic in nodes: the oracle of
    the windowed run's tests)."""
    proto = _named(loaded.model)
    exclude = [proto.graph.node[x.position].name for x in excluded if not x.graph_path]
    return _dry_run(proto, exclude, getattr(loaded, "executor", LOCAL), reduce_range)


def _made_up_ranges(proto: ModelProto) -> dict[str, tuple[float, float]]:
    """The dry run's calibration ranges: (0, k + 1) for the k-th float tensor. Distinct ranges make
    distinct scales; the weights' int8 codes depend on them (onnxruntime widens a weight's scale
    when its int32 bias would overflow: input scale x weight scale)."""
    return {x: (0.0, float(k + 1)) for k, x in enumerate(_float_tensor_names(proto))}


def _dry_run(
    proto: ModelProto, exclude: list[str], executor, reduce_range: bool, ranges: dict | None = None
) -> DeployedTensors:
    """quantize_static on the named `proto` with made-up ranges (`ranges`, else _made_up_ranges;
    a tensor missing from `ranges` gets (0, 1)), read back (module doc)."""
    names = _float_tensor_names(proto)
    ranges = ranges if ranges is not None else _made_up_ranges(proto)
    overrides = {
        "activation_type": "QUInt8",
        "weight_type": "QInt8",
        "per_channel": True,
        "reduce_range": reduce_range,
        "nodes_to_exclude": exclude,
        "extra_options": {"TensorQuantOverrides": {}},
        "calibration_ranges": {x: ranges.get(x, (0.0, 1.0)) for x in names},
    }
    out = onnx.load_model_from_string(executor.quantize_static(proto.SerializeToString(), [], overrides))
    return _read_qdq(out, set(names), {t.name for t in proto.graph.initializer})


def _named(model: ModelProto) -> ModelProto:
    """A copy whose main-graph nodes all have names (nodes_to_exclude works by name)."""
    m = ModelProto()
    m.CopyFrom(model)
    taken = {n.name for n in m.graph.node if n.name}
    for i, n in enumerate(m.graph.node):
        if not n.name:
            n.name = f"qviz_node_{i}"
            while n.name in taken:
                n.name += "_"
            taken.add(n.name)
    return m


def _float_tensor_names(m: ModelProto) -> list[str]:
    """Every main-graph tensor that is not an initializer (node inputs and outputs, graph inputs)."""
    inits = {t.name for t in m.graph.initializer}
    names = [v.name for v in m.graph.input if v.name not in inits]
    for n in m.graph.node:
        names.extend(x for x in (*n.input, *n.output) if x and x not in inits)
    return list(dict.fromkeys(names))


SUFFIXES = ("_QuantizeLinear_Input",)


def _read_qdq(out: ModelProto, tensors: set[str], inits: set[str]) -> DeployedTensors:
    """Activations with a Q -> DQ pair and 8-bit constants of the quantizer's output `out`."""
    values = {t.name: t for t in out.graph.initializer}
    acts: dict[str, str] = {}
    for n in out.graph.node:
        if n.op_type != "QuantizeLinear" or n.input[0] in values:
            continue
        x = _original(n.input[0], tensors)
        source = n.input[1].removesuffix("_scale")
        if x is not None:
            acts[x] = source if source in tensors else x
    consts: dict[str, np.ndarray] = {}
    for n in out.graph.node:
        if n.op_type != "DequantizeLinear" or n.input[0] not in values:
            continue
        name = n.input[0].removesuffix("_quantized")
        q = values[n.input[0]]
        if name not in inits or q.data_type not in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8):
            continue
        consts[name] = _dequantized(n, values)
    return DeployedTensors(acts, consts)


def _original(name: str, tensors: set[str]) -> str | None:
    """The float model's name of a quantized tensor (a graph output's Q reads "<name>_QuantizeLinear_Input")."""
    if name in tensors:
        return name
    for suffix in SUFFIXES:
        if name.endswith(suffix) and name.removesuffix(suffix) in tensors:
            return name.removesuffix(suffix)
    return None


def _dequantized(n: onnx.NodeProto, values: dict) -> np.ndarray:
    """What the DequantizeLinear `n` of an initializer computes: (q - z) * s, in the scale's type."""
    q = inline_array(values[n.input[0]]).astype(np.int32)
    scale = inline_array(values[n.input[1]])
    z = inline_array(values[n.input[2]]).astype(np.int32) if len(n.input) > 2 and n.input[2] else 0
    axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
    if np.ndim(scale) == 1 and q.ndim > 1:
        shape = [1] * q.ndim
        shape[axis % q.ndim] = -1
        scale, z = scale.reshape(shape), np.reshape(z, shape) if np.ndim(z) else z
    return ((q - z).astype(np.float32) * scale.astype(np.float32)).astype(scale.dtype)
