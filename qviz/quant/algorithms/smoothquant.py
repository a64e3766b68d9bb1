"""SmoothQuant: move activation outliers into the weights (Xiao et al. 2023, "SmoothQuant:
Accurate and Efficient Post-Training Quantization for Large Language Models", ICML, eq. 4).

Per input channel j of a layer y = x @ w.T:

    s_j = max|X_j|**alpha / max|W_j|**(1 - alpha)        (W_j: column j of w, all outputs)
    y   = (x / s) @ (w * s).T                              exactly, in real arithmetic

so the activation channel maxima become max|X_j|**(1-alpha) * max|W_j|**(1-alpha) and the weight
column maxima max|X_j|**alpha * max|W_j|**alpha: alpha = 0.5 gives both the same range
sqrt(max|X_j| * max|W_j|). The producer of x (LayerNorm, MatMul, Gemm bias and weight, or an
explicit Mul) absorbs the division by s; the layer's weight becomes w * s.

The surprising rule: the identity holds in real numbers, not in floats; with pow2=True every s_j is
rounded to a power of two and x / s, w * s are then exact in binary floating point.
Zeros: a channel whose activation or weight maximum is 0 keeps s_j = 1 (nothing to move).
One producer, several layers (a LayerNorm feeding the q, k and v MatMuls): they must share one s,
so pass their weights stacked along axis 0 (np.concatenate([wq, wk, wv])): max|W_j| is then taken
over all of them, as the reference does for a LayerNorm's consumers.

Worked example, alpha = 0.5: an activation channel with max 16 and a weight column with max 1
give s = 16**0.5 / 1**0.5 = 4: activations shrink to max 4, weights grow to max 4.

    >>> smoothing_scales(np.array([16.0, 1.0]), np.array([[1.0, 4.0], [-0.5, 1.0]]), alpha=0.5)
    array([4. , 0.5])
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qviz.quant.algorithms.algorithm_result import AlgorithmResult
from qviz.quant.algorithms.weight_grid import (
    as_matrix,
    as_rows,
    check_grid_spec,
    check_grid_values,
    rtn,
)
from qviz.quant.api import quantize
from qviz.quant.spec import QuantSpec, SpecError

ALPHAS = tuple(round(0.05 * i, 2) for i in range(21))  # 0, 0.05, ..., 1: the paper's sweep, finer
W8 = QuantSpec(bits=8, granularity="channel", axis=0)  # w8: int8 symmetric per output channel
A8 = QuantSpec(bits=8)  # a8: int8 symmetric per tensor (the paper's static per-tensor setting)


def smoothing_scales(x_absmax: npt.ArrayLike, w: npt.ArrayLike, alpha: float, pow2: bool = False) -> np.ndarray:
    """s_j = max|X_j|**alpha / max|W_j|**(1-alpha) (float64), 1 where either maximum is 0."""
    if not (isinstance(alpha, (int, float)) and 0.0 <= alpha <= 1.0):
        raise SpecError(f"alpha must be a number in [0, 1]; got {alpha!r}")
    w = as_matrix(w)
    x_max = np.abs(np.asarray(x_absmax, dtype=np.float64)).reshape(-1)
    if x_max.shape[0] != w.shape[1]:
        raise SpecError(
            f"activation maxima have {x_max.shape[0]} channels, the weight {w.shape[1]} inputs (shape mismatch)"
        )
    w_max = np.abs(w).max(axis=0).astype(np.float64)
    live = (x_max > 0) & (w_max > 0)
    s = np.ones_like(x_max)
    s[live] = x_max[live] ** alpha / w_max[live] ** (1.0 - alpha)
    return np.exp2(np.rint(np.log2(s))) if pow2 else s


def smooth(
    w: npt.ArrayLike, x: npt.ArrayLike, alpha: float, pow2: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(s, w * s, x / s) for calibration rows x: the transformed weight and what the producer must emit."""
    w = as_matrix(w)
    x = as_rows(x, w.shape[1], "SmoothQuant")
    s = smoothing_scales(np.abs(x).max(axis=0), w, alpha, pow2)
    return s, w * s.astype(w.dtype), x / s.astype(x.dtype)


def search_smoothquant(
    w: npt.ArrayLike,
    x: npt.ArrayLike,
    alphas: npt.ArrayLike = ALPHAS,
    weight_spec: QuantSpec = W8,
    act_spec: QuantSpec = A8,
    pow2: bool = False,
) -> AlgorithmResult:
    """The alpha of `alphas` whose w8a8 layer output is closest (MSE) to the float output.

    For each alpha: y_q = fq_a(x / s) @ fq_w(w * s).T with qviz.quant.quantize (fq = quantize then
    dequantize, the activation range taken from these calibration rows), error mean((y_q - y)**2).
    info: alpha, errors (per alpha), rtn_error (no smoothing, alpha ignored), channel maxima of
    the activations and weight columns before and after.
    """
    w = as_matrix(w)
    x = as_rows(x, w.shape[1], "SmoothQuant")
    spec = check_grid_spec(weight_spec, w.shape)
    grid = check_grid_values(alphas, "alphas", 0.0, 1.0)
    x_max = np.abs(x).max(axis=0)
    y = x.astype(np.float64) @ w.astype(np.float64).T
    errors = [_w8a8_error(x, w, y, smoothing_scales(x_max, w, a, pow2), spec, act_spec) for a in grid]
    best = int(np.argmin(errors))
    s = smoothing_scales(x_max, w, float(grid[best]), pow2)
    w_s = w * s.astype(w.dtype)
    r = rtn(w_s, spec)
    info = {
        "alpha": float(grid[best]),
        "alphas": grid.tolist(),
        "errors": [float(e) for e in errors],
        "rtn_error": _w8a8_error(x, w, y, np.ones(w.shape[1]), spec, act_spec),
        "act_max_before": x_max,
        "act_max_after": x_max / s,
        "weight_max_before": np.abs(w).max(axis=0),
        "weight_max_after": np.abs(w_s).max(axis=0),
    }
    return AlgorithmResult("smoothquant", r.x_dq, r.q, r.scale, r.zero_point, spec, input_scale=s, info=info)


def _w8a8_error(
    x: np.ndarray, w: np.ndarray, y: np.ndarray, s: np.ndarray, w_spec: QuantSpec, a_spec: QuantSpec
) -> float:
    x_q = quantize(x / s.astype(x.dtype), a_spec).x_dq
    w_q = rtn(w * s.astype(w.dtype), w_spec).x_dq
    return float(np.mean(np.square(x_q.astype(np.float64) @ w_q.astype(np.float64).T - y)))
