"""The deployable model: what onnxruntime's CPU kernels execute natively, built from a config.

    >>> from qviz.config import PRESETS, LayerConfig
    >>> from qviz.model import layer_table, load_model
    >>> from qviz.model.deploy.kernels import integer_ops_report
    >>> from qviz.quant import QuantSpec
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_mlp")
    >>> loaded = load_model(sample.model_bytes)
    >>> layers = layer_table(loaded)
    >>> deployable(PRESETS["w8a8"], layers)                   # every layer has a native form
    []
    >>> deployable(PRESETS["w8a8"].with_layer(layers[0].id, LayerConfig(QuantSpec(bits=3), None)), layers)
    ["layer '/net/net.0/Gemm' (weights int3 sym tensor minmax, activations float): weights bits=3: onnxruntime has int4 and int8 weights only (7 bits: stored as int8)"]
    >>> data = deploy(loaded, PRESETS["w8a8"], sample.calibration.x)    # ONNX bytes, checked
    >>> integer_ops_report(data)                              # kernels.py
    {'/net/net.0/Gemm': 'integer', '/net/net.2/Gemm': 'integer', '/net/net.4/Gemm': 'integer'}

Forms (native.py has the table): `qdq` layers go through onnxruntime's own quantize_static
(QDQ format, per-channel weights, the activation scale/zero point of each quantized layer
input given explicitly from qviz's calibration so they follow the spec's estimator; the
tensors between layers that onnxruntime also quantizes — Add, Clip, pooling outputs — get its
MinMax calibration). Then qviz puts the engine's own weight codes and scales in place of
onnxruntime's (so restricted_range, estimators and rounding of the spec hold; the int32 bias
is re-quantized to input_scale * weight_scale). `weight_only` layers get their integer
weights behind a DequantizeLinear (blocked for groups, int4 needs opset 21), `fp16` layers run
in float16 with Casts around the op, float and already-quantized layers are left alone.
Configs without a native form raise SpecError naming every such layer and why.
The result passes onnx.checker (full_check) before it is returned.

# NOTE: with graph optimizations on, onnxruntime fuses DequantizeLinear -> MatMul (weight-only)
# into MatMulNBits, whose default accuracy level quantizes the activations to int8 on the fly:
# fast, but not the same numbers as the simulation (session config
# `session.qdq_matmulnbits_accuracy_level` changes it). Conv weight-only layers run in float.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import ModelProto, TensorProto, helper

from qviz.config import ModelConfig
from qviz.model.deploy.native import native_form
from qviz.model.deploy.ort_overrides import describe_spec, to_ort_overrides
from qviz.model.load.layer_table import Layer
from qviz.model.simulate.graph_edit import GraphEditor, tensor_elem_type
from qviz.model.simulate.resolve import LayerSpecs, resolve_layer_specs
from qviz.model.simulate.simulator import Simulator
from qviz.quant import quantize
from qviz.quant.spec import SpecError

ONNX_INT = {
    (8, True): TensorProto.INT8,
    (8, False): TensorProto.UINT8,
    (7, True): TensorProto.INT8,
    (7, False): TensorProto.UINT8,
    (4, True): TensorProto.INT4,
    (4, False): TensorProto.UINT4,
}
FP16_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def deployable(config: ModelConfig, layers: list[Layer], weights=None) -> list[str]:
    """Every layer of `config` that has no native onnxruntime form, as "layer 'id' (spec): why".

    `weights` (a WeightStore, e.g. loaded.weights) adds the check that QDQ layers read a
    plain float32 initializer, which onnxruntime's quantize_static needs.
    """
    specs = resolve_layer_specs(layers, config)
    problems = []
    for layer in layers:
        form, why = native_form(layer, specs[layer.id])
        if form == "fp16" and layer.op_type not in FP16_OPS:
            form, why = None, f"float16 on {layer.op_type}: only {', '.join(FP16_OPS)} are deployed in float16"
        if form == "qdq" and not _plain_weight(layer, weights):
            form, why = (
                None,
                (
                    "the weight is not a float32 initializer read directly by the node (a Constant node "
                    "or a Cast): onnxruntime's quantizer needs one (fold constants first)"
                ),
            )
        if form is None:
            s = specs[layer.id]
            problems.append(
                f"layer {layer.id!r} (weights {describe_spec(s.weights)}, "
                f"activations {describe_spec(s.activations)}): {why}"
            )
    return problems


def _plain_weight(layer: Layer, weights) -> bool:
    if weights is None:
        return True
    return weights.kind(layer.weight_name) == "initializer" and layer.weight_dtype == "float32"


def needs_reduce_range() -> bool:
    """True on x86 CPUs without VNNI (/proc/cpuinfo): their u8 x s8 kernels saturate int16 sums."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return " avx2" in flags and "vnni" not in flags


def deploy(
    model, config: ModelConfig, calib_x=None, *, simulator: Simulator | None = None, reduce_range: bool | None = None
) -> bytes:
    """The deployable ONNX bytes of `config` (module doc); SpecError if a layer cannot deploy.

    reduce_range (None = needs_reduce_range()): QDQ layers with 8-bit weights get 7-bit codes
    (int8 storage, [-64, 63]), as onnxruntime recommends for x86 without VNNI: there its
    uint8 x int8 kernels add pairs of products in int16 and saturate (measured here: a 3x3
    conv off by 40 output steps). The simulated model of the same config keeps 8-bit weights:
    to compare the two exactly, give the config 7-bit weights, or pass reduce_range=False.
    """
    sim = simulator or Simulator(model, calib_x)
    if reduce_range if reduce_range is not None else needs_reduce_range():
        config = _reduced(config, sim.layers)
    problems = deployable(config, sim.layers, sim.loaded.weights)
    if problems:
        raise SpecError(f"{len(problems)} layer(s) have no onnxruntime form: " + "; ".join(problems))
    specs = resolve_layer_specs(sim.layers, config)
    forms = {x.id: native_form(x, specs[x.id])[0] for x in sim.layers}
    proto = _named_copy(sim.proto, sim.layers)
    if "qdq" in forms.values():
        proto = _quantize_static(proto, sim, config, sim.layers, specs, forms)
    out = _apply_forms(GraphEditor(proto), sim, specs, forms)
    onnx.checker.check_model(out, full_check=True)
    return out.SerializeToString()


def _apply_forms(ed: GraphEditor, sim: Simulator, specs: dict, forms: dict) -> ModelProto:
    """Engine weights into the QDQ layers, weight-only DequantizeLinear, float16 layers."""
    index = {n.name: i for i, n in enumerate(ed.nodes) if n.name}
    for layer in sim.layers:
        node_name = layer.node_name or layer.id
        if forms[layer.id] == "qdq":
            _engine_weights(ed, index[node_name], layer, specs[layer.id], sim)
        elif forms[layer.id] == "weight_only":
            _weight_only(ed, index[node_name], layer, specs[layer.id], sim)
        elif forms[layer.id] == "fp16":
            _fp16(ed, index[node_name], layer, sim)
    return ed.finish()


def _reduced(config: ModelConfig, layers: list[Layer]) -> ModelConfig:
    """config with every 8-bit int weights spec of a QDQ layer set to 7 bits."""
    specs = resolve_layer_specs(layers, config)
    for layer in layers:
        s = specs[layer.id]
        if native_form(layer, s)[0] == "qdq" and s.weights is not None and s.weights.bits == 8:
            lc = config.for_layer(layer.id)
            assert lc.weights is not None  # s.weights was resolved from it
            config = config.with_layer(layer.id, replace(lc, weights=lc.weights.replace(bits=7)))
    return config


def _named_copy(proto: ModelProto, layers: list[Layer]) -> ModelProto:
    """A copy where every layer node has a name (its layer id): quantize_static works by name."""
    m = ModelProto()
    m.CopyFrom(proto)
    for layer in layers:
        node = m.graph.node[layer.position]
        if not node.name:
            node.name = layer.id
    return m


def _quantize_static(proto, sim, config, layers, specs, forms) -> ModelProto:
    """onnxruntime's quantize_static on `proto`, where the model's sessions run (it calibrates)."""
    qparams = {x.inputs[0]: sim.qparams(x.inputs[0], specs[x.id].activations) for x in layers if forms[x.id] == "qdq"}
    overrides = to_ort_overrides(None, config, qparams, layers=_renamed(layers))
    data = sim.loaded.executor.quantize_static(proto.SerializeToString(), sim.feeds(), overrides)
    return onnx.load_model_from_string(data)


def _renamed(layers: list[Layer]) -> list[Layer]:
    from dataclasses import replace

    return [x if x.node_name else replace(x, node_name=x.id) for x in layers]


def _producer(ed: GraphEditor, name: str):
    return next((n for n in ed.nodes if name in n.output), None)


def _inits(ed: GraphEditor) -> dict[str, TensorProto]:
    return {t.name: t for t in ed.model.graph.initializer}


def _replace_init(ed: GraphEditor, name: str, x: npt.ArrayLike) -> None:
    t = _inits(ed)[name]
    t.CopyFrom(onnx.numpy_helper.from_array(np.asarray(x), name))


def _engine_weights(ed: GraphEditor, i: int, layer: Layer, s: LayerSpecs, sim: Simulator) -> None:
    """Swap onnxruntime's weight codes/scales for the engine's; re-quantize the int32 bias."""
    node = ed.nodes[i]
    dq = _producer(ed, node.input[layer.weight_input])
    if dq is None or dq.op_type != "DequantizeLinear":
        return
    assert s.weights is not None  # form "qdq" (native_form)
    r = quantize(np.asarray(sim.loaded.weights[layer.weight_name], dtype=np.float32), s.weights)
    assert r.q is not None and r.scale is not None  # scheme=int
    qdtype: npt.DTypeLike | None = (
        helper.tensor_dtype_to_np_dtype(ONNX_INT[(s.weights.bits, s.weights.signed)]) if s.weights.bits == 8 else None
    )
    if s.weights.bits == 7:
        qdtype = np.int8 if s.weights.signed else np.uint8
    if qdtype is None:
        return  # NOTE: 4-bit codes stay onnxruntime's (its int4 packing); only 8-bit codes are swapped
    _replace_init(ed, dq.input[0], r.q.astype(qdtype))
    _replace_init(
        ed,
        dq.input[1],
        np.asarray(r.scale, np.float32).reshape(-1) if s.weights.granularity == "channel" else np.float32(r.scale),
    )
    _replace_init(ed, dq.input[2], np.asarray(r.zero_point).astype(qdtype).reshape(np.shape(r.scale)))
    _set_axis(dq, s.weights.axis if s.weights.granularity == "channel" else None)
    if layer.bias_name and len(node.input) > 2 and node.input[2]:
        _requantize_bias(ed, node, layer, r.scale, sim)


def _set_axis(node, axis) -> None:
    keep = [a for a in node.attribute if a.name != "axis"]
    del node.attribute[:]
    node.attribute.extend(keep)
    if axis is not None:
        node.attribute.append(helper.make_attribute("axis", axis))


def _requantize_bias(ed: GraphEditor, node, layer: Layer, w_scale, sim: Simulator) -> None:
    bdq = _producer(ed, node.input[2])
    xdq = _producer(ed, node.input[0])
    if bdq is None or xdq is None or bdq.op_type != "DequantizeLinear" or xdq.op_type != "DequantizeLinear":
        return
    assert layer.bias_name is not None  # the caller checked
    inits = _inits(ed)
    x_scale = onnx.numpy_helper.to_array(inits[xdq.input[1]]).astype(np.float32)
    b_scale = (x_scale * np.asarray(w_scale, np.float32).reshape(-1)).astype(np.float32)
    b = np.asarray(sim.loaded.weights[layer.bias_name], dtype=np.float32)
    limit = np.iinfo(np.int32)
    q = np.clip(np.rint(b / b_scale), limit.min, limit.max).astype(np.int32)
    _replace_init(ed, bdq.input[0], q)
    _replace_init(ed, bdq.input[1], b_scale if b_scale.size > 1 else b_scale.reshape(()))
    if len(bdq.input) > 2 and bdq.input[2]:
        _replace_init(ed, bdq.input[2], np.zeros(b_scale.shape if b_scale.size > 1 else (), np.int32))


def _weight_only(ed: GraphEditor, i: int, layer: Layer, s: LayerSpecs, sim: Simulator) -> None:
    """Integer weights behind a DequantizeLinear (per tensor, per channel or blocked)."""
    w = s.weights
    assert w is not None  # form "weight_only" (native_form)
    if (w.bits == 4 or w.granularity == "group") and _opset(ed.model) < 21:
        raise SpecError(
            f"layer {layer.id!r}: int4 or group-wise weights need opset >= 21; the model has {_opset(ed.model)}"
        )
    r = quantize(np.asarray(sim.loaded.weights[layer.weight_name], dtype=np.float32), w)
    assert r.q is not None  # scheme=int
    node = ed.nodes[i]
    elem = tensor_elem_type(ed.model, node.input[layer.weight_input]) or TensorProto.FLOAT
    qtype = ONNX_INT[(w.bits, w.signed)]
    base = layer.weight_name
    q = ed.add_tensor(int_tensor(f"{base}_q", qtype, r.q))
    zp = ed.add_tensor(int_tensor(f"{base}_zp", qtype, np.asarray(r.zero_point)))
    scale = ed.add_initializer(f"{base}_scale", np.asarray(r.scale).astype(helper.tensor_dtype_to_np_dtype(elem)))
    out = ed.unique(f"{base}_dq")
    attrs: dict[str, Any] = {} if w.granularity == "tensor" else {"axis": w.axis}
    if w.granularity == "group":
        attrs["block_size"] = w.group_size
    ed.insert_before(i, [helper.make_node("DequantizeLinear", [q, scale, zp], [out], name=ed.unique(out), **attrs)])
    ed.set_input(i, layer.weight_input, out)


def int_tensor(name: str, qtype: int, q: np.ndarray) -> TensorProto:
    """An int8/uint8/int4/uint4 TensorProto from int codes, stored as raw bytes.

    4-bit codes are packed two per byte, low nibble first (the ONNX layout); an odd count
    leaves the last high nibble 0.
    """
    if qtype in (TensorProto.INT4, TensorProto.UINT4):
        nib = (q.reshape(-1) & 0x0F).astype(np.uint8)
        nib = np.concatenate([nib, np.zeros(nib.size % 2, np.uint8)])
        packed = nib[0::2] | (nib[1::2] << 4)
        return helper.make_tensor(name, qtype, q.shape, packed.tobytes(), raw=True)
    return onnx.numpy_helper.from_array(q.astype(helper.tensor_dtype_to_np_dtype(qtype)), name)


def _fp16(ed: GraphEditor, i: int, layer: Layer, sim: Simulator) -> None:
    """Run the op in float16: Cast the activation in, fp16 weight and bias, Cast the output back."""
    node = ed.nodes[i]
    if tensor_elem_type(ed.model, node.input[layer.weight_input]) == TensorProto.FLOAT16:
        return  # already a float16 op
    w = np.asarray(sim.loaded.weights[layer.weight_name], dtype=np.float32)
    ed.set_input(i, layer.weight_input, ed.add_initializer(f"{layer.weight_name}_fp16", w.astype(np.float16)))
    if layer.bias_name and layer.bias_name in sim.loaded.weights and len(node.input) > 2:
        b = np.asarray(sim.loaded.weights[layer.bias_name], dtype=np.float32).astype(np.float16)
        ed.set_input(i, 2, ed.add_initializer(f"{layer.bias_name}_fp16", b))
    x16 = ed.unique(f"{layer.inputs[0]}_fp16")
    ed.insert_before(
        i, [helper.make_node("Cast", [layer.inputs[0]], [x16], name=ed.unique(x16), to=TensorProto.FLOAT16)]
    )
    for j, name in enumerate(node.input):
        if name == layer.inputs[0]:
            ed.set_input(i, j, x16)
    y, y16 = node.output[0], ed.unique(f"{node.output[0]}_fp16")
    node.output[0] = y16
    ed.insert_before(i + 1, [helper.make_node("Cast", [y16], [y], name=ed.unique(f"{y}_cast"), to=TensorProto.FLOAT)])


def _opset(model: ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
