"""The integer-only walkthrough on a real layer: one input row of a model's plain Gemm / MatMul, done
the way an integer-only runtime does it, checked against onnxruntime's QLinear kernels.

The layer is any plain Gemm / MatMul (y = x @ W + b) of a model, fed with its real input on the
calibration data; x's range is that input's min/max and y's the float layer output's min/max over
the same data (what a calibrator would measure). The arithmetic itself is integer_only.integer_gemm;
the tables show the first SHOWN rows/columns of each step.
"""

from __future__ import annotations

import numpy as np
import onnx

from qviz.lessons.integer_only import IntOnlyResult, integer_gemm
from qviz.model import Layer, LoadedModel
from qviz.model.runtime.qlinear import qlinear_conv_1x1, qlinear_matmul
from qviz.model.simulate.simulator import Simulator

SHOWN = 8  # rows/columns of the small tables


def is_plain_matmul(loaded: LoadedModel, layer: Layer) -> bool:
    """y = x @ W (+ b): a Gemm without transA/alpha/beta, or a MatMul whose weight is the right operand
    (in the main graph: a layer inside an If/Loop body has no input the walkthrough can fetch)."""
    if layer.op_type not in ("Gemm", "MatMul") or layer.domain or layer.quantized or layer.weight_input != 1:
        return False
    if layer.graph_path:
        return False
    if len(layer.weight_shape) != 2 or not layer.weight_dtype.startswith("float"):
        return False
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in loaded.model.graph.node[layer.position].attribute}
    return attrs.get("transA", 0) == 0 and attrs.get("alpha", 1.0) == 1.0 and attrs.get("beta", 1.0) == 1.0


def walk_layers(loaded: LoadedModel, layers: list[Layer]) -> list[str]:
    """Ids of the layers the walkthrough can run (module docstring)."""
    return [x.id for x in layers if is_plain_matmul(loaded, x)]


def layer_arrays(sim: Simulator, layer: Layer):
    """(W [out, in], b [out] or None, every input row [n, in]) of a plain Gemm / MatMul."""
    w = np.asarray(sim.loaded.weights[layer.weight_name], dtype=np.float32)
    w = w.T if layer.channel_axis == 1 else w  # Gemm transB=0 and MatMul store W as [in, out]
    b = sim.loaded.weights[layer.bias_name] if layer.bias_name else None
    b = np.asarray(b, dtype=np.float32) if b is not None and np.shape(b) == (w.shape[0],) else None
    rows = np.asarray(sim.activations()[layer.inputs[0]], dtype=np.float32).reshape(-1, w.shape[1])
    return w, b, rows


def row_count(sim: Simulator, layer: Layer) -> int:
    """How many input rows the calibration data gives `layer` (each one can be walked through)."""
    return len(layer_arrays(sim, layer)[2])


def walkthrough(sim: Simulator, layer: Layer, row: int, per_channel: bool) -> dict:
    """integer_gemm on input row `row` of `layer` (ranges measured over every row), and how many of its
    output codes onnxruntime's QLinearMatMul (without bias) and QLinearConv (with bias) reproduce."""
    w, b, rows = layer_arrays(sim, layer)
    y_all = rows @ w.T + (0 if b is None else b)
    x_range, y_range = (float(rows.min()), float(rows.max())), (float(y_all.min()), float(y_all.max()))
    bare = integer_gemm(rows[row], w, None, x_range, y_range, per_channel)
    r = integer_gemm(rows[row], w, b, x_range, y_range, per_channel)
    return {
        "r": r,
        "matmul_same": int(np.count_nonzero(qlinear_matmul(bare) == bare.y_q)),
        "conv_same": int(np.count_nonzero(qlinear_conv_1x1(r) == r.y_q)),
        "n": int(r.y_q.size),
        "layer": f"{layer.op_type} {tuple(w.shape)} · {len(rows)} input rows",
    }


def input_table(r: IntOnlyResult) -> dict:
    """The first input codes and the codes minus their zero point."""
    k = min(SHOWN, r.x_q.shape[1])  # a layer may have fewer inputs than the table shows
    return {
        "k": list(range(k)),
        "x_q": r.x_q[0, :SHOWN].tolist(),
        "x_q - zx": (r.x_q[0, :SHOWN].astype(int) - r.zx).tolist(),
    }


def weight_table(r) -> dict:
    return {f"k={j}": r.w_q[:SHOWN, j].tolist() for j in range(min(SHOWN, r.w_q.shape[1]))}


def output_table(r) -> dict:
    """The first outputs: accumulator, both requantizations, dequantized vs float."""
    n = slice(0, SHOWN)
    return {
        "acc (int32)": r.acc[0, n].tolist(),
        "y_q": r.y_q[0, n].tolist(),
        "y_q fixed": r.y_q_fixed[0, n].tolist(),
        "y_dq": np.round(r.y_dq[0, n], 4).tolist(),
        "y float": np.round(r.y_float[0, n], 4).tolist(),
    }


def multiplier_rows(r) -> dict:
    """M (float64), the float32 M onnxruntime uses, M0, n, and M0 * 2**-31 * 2**-n, for the first channels."""
    n = slice(0, SHOWN if r.m.size > 1 else 1)
    back = r.m0[n].astype(np.float64) * 2.0**-31 * 2.0 ** (-r.shift[n].astype(np.float64))
    return {
        "M": [f"{v:.9g}" for v in r.m[n]],
        "M float32": [f"{v:.9g}" for v in r.m_float32[n]],
        "M0": r.m0[n].tolist(),
        "n": r.shift[n].tolist(),
        "M0·2⁻³¹·2⁻ⁿ": [f"{v:.9g}" for v in back],
    }
