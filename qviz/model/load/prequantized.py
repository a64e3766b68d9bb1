"""Models that come already quantized: what quantization each layer has, as the model stores it.

    >>> from qviz.model import layer_table, load_model
    >>> m = load_model("/path/to/smart_turn_int8.onnx")                 # doctest: +SKIP
    >>> infos = existing_quantization(m, layer_table(m))                 # doctest: +SKIP
    >>> infos["node_conv1d"].describe()                                  # doctest: +SKIP
    'QDQ int8 sym per-channel(axis 0); activations uint8 per-tensor'
    >>> info = QuantInfo("QDQ", 8, True, True, "channel", axis=0, activations="uint8 per-tensor")
    >>> info.describe(), info.bits
    ('QDQ int8 sym per-channel(axis 0); activations uint8 per-tensor', 8)

What is read, per already-quantized layer (layer_table marks them `quantized`):

  format       how it is stored                        weight scale / zero point read from
  QDQ          DequantizeLinear(int weight) -> op      the DequantizeLinear's inputs 1, 2 (axis, block_size)
  QOperator    QLinearConv / QLinearMatMul             the op's weight scale / zero point inputs
  integer op   ConvInteger / MatMulInteger             the weight zero point (the scale is applied later)
  MatMulNBits  com.microsoft blockwise 4-bit           attributes bits, block_size; input 3 (zero points)

bits come from the stored type (int8 -> 8, int4 -> 4, uint16 -> 16); granularity from the
scale's shape (one value: tensor; one per output channel: channel; blocked: group); symmetric
when every zero point is 0 (signed) or the middle code (unsigned: 128 for uint8). Activations:
quantized when the layer's input comes from a DequantizeLinear (QDQ) or the op takes integer
inputs (QOperator; ConvInteger/MatMulInteger: usually DynamicQuantizeLinear, so "dynamic").

# NOTE: qviz does not quantize an already-quantized layer again (its weights are integer codes
# whose float values the model never stores): a config asking for it is refused
# (`requantization_problem`), and `qviz dequantize` (dequantize.py) writes the float model
# those codes stand for, which qviz can then quantize like any other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import ModelProto

from qviz.model.load.layer_table import Layer, layer_graph, layer_node, model_and_weights
from qviz.model.load.loader import LoadedModel
from qviz.model.load.weights import WeightStore

QOPERATOR_QPARAMS = {  # op -> {weight input: (scale input, zero point input)}, activation zero point input
    "QLinearConv": ({3: (4, 5)}, 2),
    "QLinearMatMul": ({3: (4, 5), 0: (1, 2)}, 2),
}
INTEGER_OPS_ZP = {"ConvInteger": 3, "MatMulInteger": 3}  # weight (B/W) zero point input


@dataclass(frozen=True)
class QuantInfo:
    """One already-quantized layer's stored quantization (module doc)."""

    format: str  # "QDQ", "QOperator", "integer op", "MatMulNBits"
    bits: int | None
    signed: bool | None
    symmetric: bool | None
    granularity: str  # "tensor", "channel", "group" or "?"
    axis: int | None = None
    block_size: int | None = None
    activations: str = "float"  # "float", "uint8 per-tensor", "dynamic", ...

    def describe(self) -> str:
        """One line: 'QDQ int8 sym per-channel(axis 0); activations uint8 per-tensor'."""
        kind = "?" if self.bits is None else f"{'int' if self.signed in (True, None) else 'uint'}{self.bits}"
        sym = {True: " sym", False: " asym", None: ""}[self.symmetric]
        gran = {
            "tensor": "per-tensor",
            "channel": f"per-channel(axis {self.axis})",
            "group": f"group{self.block_size}(axis {self.axis})",
        }.get(self.granularity, "?")
        return f"{self.format} {kind}{sym} {gran}; activations {self.activations}"

    def to_dict(self) -> dict:
        return {
            "format": self.format,
            "bits": self.bits,
            "signed": self.signed,
            "symmetric": self.symmetric,
            "granularity": self.granularity,
            "axis": self.axis,
            "block_size": self.block_size,
            "activations": self.activations,
            "text": self.describe(),
        }


def existing_quantization(model: LoadedModel | ModelProto, layers: list[Layer]) -> dict[str, QuantInfo]:
    """{layer id: QuantInfo} for every already-quantized layer of `layers` (module doc)."""
    proto, weights = model_and_weights(model)
    return {x.id: _info(proto, weights, x) for x in layers if x.quantized}


def summary(infos: dict[str, QuantInfo], n_layers: int) -> str:
    """'31 of 31 layers already quantized: QDQ int8 sym per-channel(axis 0) ... (22), ...' or ''."""
    if not infos:
        return ""
    counts: dict[str, int] = {}
    for info in infos.values():
        counts[info.describe()] = counts.get(info.describe(), 0) + 1
    kinds = "; ".join(f"{text} ({n})" for text, n in sorted(counts.items(), key=lambda kv: -kv[1])[:4])
    more = f"; and {len(counts) - 4} more kinds" if len(counts) > 4 else ""
    return f"{len(infos)} of {n_layers} layers already quantized in the model: {kinds}{more}"


def requantization_problem(layers: list[Layer], infos: dict[str, QuantInfo], asked: list[str]) -> str:
    """The refusal message for a config that quantizes the already-quantized layers `asked`."""
    shown = ", ".join(f"{x!r} ({infos[x].describe()})" for x in asked[:3] if x in infos)
    more = f" and {len(asked) - 3} more" if len(asked) > 3 else ""
    return (
        f"{len(asked)} layer(s) are already quantized in the model: {shown}{more}. qviz does not quantize a "
        "quantized layer again: keep them float in the config (e.g. the fp32 preset), or dequantize the model "
        "first (qviz dequantize MODEL --out FLOAT.onnx, or the Model page's download) and quantize that"
    )


def _info(proto: ModelProto, weights: WeightStore, layer: Layer) -> QuantInfo:
    node = layer_node(proto, layer)
    if node.op_type == "MatMulNBits":
        return _nbits(node, weights, layer)
    if node.op_type in QOPERATOR_QPARAMS:
        by_input, act_zp = QOPERATOR_QPARAMS[node.op_type]
        s_in, z_in = by_input.get(layer.weight_input, (None, None))
        act = f"{_dtype(weights, _arg(node, act_zp)) or 'int'} per-tensor"
        return _from_qparams("QOperator", layer, weights, _arg(node, s_in), _arg(node, z_in), None, None, act)
    if node.op_type in INTEGER_OPS_ZP:
        zp = _arg(node, INTEGER_OPS_ZP[node.op_type])  # no scale input: the zero point's shape tells
        return _from_qparams("integer op", layer, weights, zp, zp, None, None, "dynamic")
    dq = _weight_dq(layer_graph(proto, layer), node.input[layer.weight_input])
    act = _activation_dq(layer_graph(proto, layer), node, layer, weights)
    if dq is None:
        return QuantInfo("QDQ", _bits(layer.weight_dtype), None, None, "?", activations=act)
    axis, block = _attr(dq, "axis", 1), _attr(dq, "block_size", 0)
    return _from_qparams("QDQ", layer, weights, _arg(dq, 1), _arg(dq, 2), axis, block or None, act)


def _from_qparams(fmt, layer: Layer, weights, scale, zp, axis, block, act) -> QuantInfo:
    bits = _bits(layer.weight_dtype)
    signed = not layer.weight_dtype.startswith("uint")
    shape = weights.shape(scale) if scale and scale in weights else None
    granularity, axis = _granularity(shape, layer, axis, block)
    return QuantInfo(fmt, bits, signed, _symmetric(weights, zp, bits, signed), granularity, axis, block, act)


def _granularity(shape, layer: Layer, axis, block) -> tuple[str, int | None]:
    if shape is None or int(np.prod(shape)) == 1:
        return ("tensor", None) if shape is not None or axis is None else ("?", None)
    ndim = max(len(layer.weight_shape), 1)
    if block:
        return "group", axis % ndim
    if axis is None:  # QOperator: per-channel along the output channels
        return "channel", layer.channel_axis
    return "channel", axis % ndim


def _symmetric(weights: WeightStore, zp, bits, signed) -> bool | None:
    if not zp:
        return True if signed else None  # no zero point input: 0
    if zp not in weights or bits is None:
        return None
    z = np.asarray(weights[zp]).astype(np.int64)
    mid = 0 if signed else 2 ** (bits - 1)
    return bool(np.all(z == mid))


def _nbits(node: onnx.NodeProto, weights: WeightStore, layer: Layer) -> QuantInfo:
    bits, block = _attr(node, "bits", 4), _attr(node, "block_size", 0)
    zp = _arg(node, 3)
    sym = None if zp else True  # no zero points: the middle code (2**(bits-1)) is implied
    return QuantInfo("MatMulNBits", bits, False, sym, "group", 1, block or None, "float")


def _weight_dq(graph: onnx.GraphProto, name: str) -> onnx.NodeProto | None:
    producer = {o: n for n in graph.node for o in n.output}
    for _ in range(16):
        node = producer.get(name)
        if node is None:
            return None
        if node.op_type == "DequantizeLinear":
            return node
        if node.op_type not in ("Identity", "Cast") or not node.input:
            return None
        name = node.input[0]
    return None


def _activation_dq(graph: onnx.GraphProto, node: onnx.NodeProto, layer: Layer, weights: WeightStore) -> str:
    """'uint8 per-tensor' when the layer's input comes from a DequantizeLinear, else 'float'."""
    if not layer.inputs:
        return "float"
    producer = {o: n for n in graph.node for o in n.output}
    dq = producer.get(layer.inputs[0])
    if dq is None or dq.op_type != "DequantizeLinear":
        return "float"
    zp = _arg(dq, 2)
    kind = (_dtype(weights, zp) if zp else None) or "int8"
    scale = _arg(dq, 1)
    per = "per-tensor" if not scale or scale not in weights or weights.size(scale) == 1 else "per-channel"
    return f"{kind} {per}"


def _arg(node: onnx.NodeProto, i: int | None) -> str:
    return node.input[i] if i is not None and i < len(node.input) else ""


def _attr(node: onnx.NodeProto, name: str, default):
    return next((onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == name), default)


def _dtype(weights: WeightStore, name: str) -> str | None:
    return weights.dtype(name) if name and name in weights else None


def _bits(dtype: str) -> int | None:
    return {"int8": 8, "uint8": 8, "int4": 4, "uint4": 4, "int16": 16, "uint16": 16, "int32": 32}.get(dtype)
