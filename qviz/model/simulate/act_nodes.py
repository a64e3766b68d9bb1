"""ONNX nodes that fake-quantize an activation tensor, exactly as the engine does.

Static int (scale s, zero point z from calibration, per tensor or per channel):

    y = Mul(Min(Max(Round(Div(x, s)), qmin - z), qmax - z), s)

the engine's `fake_quantize` step by step: a float32 division (not a multiplication by
1/s), ties-to-even rounding (ONNX Round), the clip, the multiplication. Any bit width 2..16
works (no integer carrier type is needed), and the values are the ones a
QuantizeLinear/DequantizeLinear pair of that width would give.

Dynamic int (per batch, per tensor, min-max; the DynamicQuantizeLinear idea at any width):

    lo = min(ReduceMin(x), 0)   hi = max(ReduceMax(x), 0)     (symmetric: +-max(-lo, hi))
    s  = (hi - lo) / (qmax - qmin), 1 where s < float32 tiny
    z  = clip(Round(qmin - lo / s), qmin, qmax)                 (symmetric: 0 or the mid code)
    y  = (clip(Round(x / s) + z, qmin, qmax) - z) * s

# NOTE: the dynamic scale is computed in float32 inside the graph; the engine computes it in
# float64 and rounds once, so the two can differ by one float32 ulp of the scale.

Float formats: Cast(x, to=format) then Cast back (saturating for float8, as the engine).
Inputs in float16 are cast to float32 first and back after (the engine works in float32).
"""

from __future__ import annotations

import numpy as np
from onnx import NodeProto, TensorProto, helper

from qviz.model.load.normalize import onnx_opset
from qviz.model.simulate.graph_edit import GraphEditor
from qviz.quant.qparams import TINY
from qviz.quant.spec import QuantSpec, SpecError

FLOAT_TYPES = {
    "float16": TensorProto.FLOAT16,
    "bfloat16": TensorProto.BFLOAT16,
    "float8_e4m3fn": TensorProto.FLOAT8E4M3FN,
    "float8_e5m2": TensorProto.FLOAT8E5M2,
}
ROUND_OPS = {"half_even": "Round", "floor": "Floor"}


class _Chain:
    """Appends nodes that each read the previous output; names made unique by the editor."""

    nodes: list[NodeProto]

    def __init__(self, ed: GraphEditor, prefix: str, x: str):
        self.ed, self.prefix, self.out, self.nodes = ed, prefix, x, []

    def const(self, label: str, value) -> str:
        return self.ed.add_initializer(f"{self.prefix}_{label}", np.asarray(value, dtype=np.float32))

    def op(self, op_type: str, *others: str, first: str | None = None, **attrs) -> str:
        out = self.ed.unique(f"{self.prefix}_{op_type.lower()}")
        inputs = [self.out if first is None else first, *others]
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=self.ed.unique(out), **attrs))
        if first is None:
            self.out = out
        return out


def round_op(spec: QuantSpec) -> str:
    if spec.rounding not in ROUND_OPS:
        raise SpecError(
            f"activations.rounding must be one of {', '.join(ROUND_OPS)} (ONNX Round/Floor); got {spec.rounding!r}"
        )
    return ROUND_OPS[spec.rounding]


def static_int_nodes(
    ed: GraphEditor, x: str, prefix: str, spec: QuantSpec, scale, zero_point, ndim: int, dtype, *, clip: bool = False
):
    """(nodes, output name) for a static fake-quantization of x (see the module doc).

    clip=True (one scale per tensor): one Clip in place of Max then Min, the same values for
    finite inputs and one pass less over the tensor (the deployed-graph tensors use it: they are
    many, and a pass over a large activation costs as much as the op that made it).
    """
    c = _Chain(ed, prefix, x)
    pshape = _param_shape(np.shape(scale), spec, ndim)
    z = np.asarray(zero_point, dtype=np.float32).reshape(pshape)
    s = c.const("scale", np.asarray(scale, dtype=np.float32).reshape(pshape))
    _to_float32(c, dtype)
    c.op("Div", s)
    c.op(round_op(spec))
    if clip and not pshape:
        _clip(c, float(spec.qmin - z), float(spec.qmax - z))
    else:
        c.op("Max", c.const("lo", spec.qmin - z))
        c.op("Min", c.const("hi", spec.qmax - z))
    c.op("Mul", s)
    _back(c, dtype)
    return c.nodes, c.out


def _clip(c: _Chain, lo: float, hi: float) -> None:
    """Clip to [lo, hi]: bounds as inputs (opset 11+) or attributes (opset 6-10)."""
    if onnx_opset(c.ed.model) >= 11:
        c.op("Clip", c.const("lo", lo), c.const("hi", hi))
    else:
        c.op("Clip", min=lo, max=hi)


def dynamic_int_nodes(ed: GraphEditor, x: str, prefix: str, spec: QuantSpec, dtype):
    """(nodes, output name) for a per-batch min-max fake-quantization of x (module doc)."""
    if spec.pow2_scale:
        raise SpecError("activations.pow2_scale is not supported with activations_dynamic")
    c = _Chain(ed, prefix, x)
    zero, tiny, one = c.const("zero", 0.0), c.const("tiny", TINY), c.const("one", 1.0)
    qmin, qmax, steps = c.const("qmin", spec.qmin), c.const("qmax", spec.qmax), c.const("steps", spec.qmax - spec.qmin)
    xf = _to_float32(c, dtype)
    lo = c.op("Min", zero, first=c.op("ReduceMin", first=xf, keepdims=0))
    hi = c.op("Max", zero, first=c.op("ReduceMax", first=xf, keepdims=0))
    if spec.symmetric:
        hi = c.op("Max", hi, first=c.op("Neg", first=lo))
        lo = c.op("Neg", first=hi)
    raw = c.op("Div", steps, first=c.op("Sub", lo, first=hi))
    s = c.op("Where", one, raw, first=c.op("Less", tiny, first=raw))
    if spec.symmetric:
        z = c.const("zp", 0 if spec.signed else (spec.qmin + spec.qmax + 1) // 2)
    else:
        z = c.op("Round", first=c.op("Sub", c.op("Div", s, first=lo), first=qmin))
        z = c.op("Min", qmax, first=c.op("Max", qmin, first=z))
    c.out = xf
    c.op("Div", s)
    c.op(round_op(spec))
    c.op("Add", z)
    c.op("Max", qmin)
    c.op("Min", qmax)
    c.op("Sub", z)
    c.op("Mul", s)
    _back(c, dtype)
    return c.nodes, c.out


def float_nodes(ed: GraphEditor, x: str, prefix: str, spec: QuantSpec, dtype):
    """(nodes, output name): Cast to spec.float_format and back to x's type."""
    c = _Chain(ed, prefix, x)
    back = TensorProto.FLOAT16 if np.dtype(dtype) == np.float16 else TensorProto.FLOAT
    c.op("Cast", to=FLOAT_TYPES[spec.float_format])
    c.op("Cast", to=back)
    return c.nodes, c.out


def _param_shape(shape: tuple, spec: QuantSpec, ndim: int) -> tuple:
    if spec.granularity == "tensor" or not shape:
        return ()
    axis = spec.axis % ndim
    return tuple(shape[0] if i == axis else 1 for i in range(ndim))


def _to_float32(c: _Chain, dtype) -> str:
    if np.dtype(dtype) == np.float16:
        c.op("Cast", to=TensorProto.FLOAT)
    return c.out


def _back(c: _Chain, dtype) -> None:
    if np.dtype(dtype) == np.float16:
        c.op("Cast", to=TensorProto.FLOAT16)
