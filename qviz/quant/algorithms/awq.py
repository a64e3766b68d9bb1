"""AWQ: activation-aware weight scaling before low-bit rounding (Lin et al. 2024, "AWQ:
Activation-aware Weight Quantization for LLM Compression and Acceleration", MLSys, sec. 3.2).

Weights that meet large activations matter most; scaling their input channel up before rounding
shrinks their relative rounding error. Per input channel j, from calibration rows x:

    s_j   = mean|X_j|**alpha,  then s /= sqrt(max(s) * min(s))   (the reference's normalization)
    w_eff = Q(w * s) / s       and the layer runs Q(w * s) on x / s (the producer absorbs 1 / s)
    alpha = argmin over a grid in [0, 1] of mean((x @ w_eff.T - x @ w.T)**2)

Q is group-wise low-bit round-to-nearest (qviz.quant.quantize with the given spec). alpha = 0 gives
s = 1, plain RTN, and it is on the grid: the result is never worse than RTN on the calibration
rows. (The reference also searches a clipping range per group afterwards; not done here.)
s is clamped below at 1e-4 (as the reference) so a silent channel never divides by 0.

Worked example: channel means [4, 1] and alpha 0.5 give s = [2, 1] / sqrt(2 * 1) = [1.414, 0.707].

    >>> awq_scales(np.array([4.0, 1.0]), 0.5).round(3)
    array([1.414, 0.707])
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qviz.quant.algorithms.algorithm_result import AlgorithmResult
from qviz.quant.algorithms.weight_grid import as_matrix, as_rows, check_grid_spec, check_grid_values, output_mse, rtn
from qviz.quant.spec import QuantSpec

ALPHAS = tuple(round(0.05 * i, 2) for i in range(21))  # the reference's 20-point grid, plus 1.0
W4_G128 = QuantSpec(bits=4, symmetric=False, granularity="group", axis=1, group_size=128)  # the paper's w4 g128


def awq_scales(x_mean_abs: npt.ArrayLike, alpha: float) -> np.ndarray:
    """s = mean|X_j|**alpha clamped at 1e-4, normalized by sqrt(max(s) * min(s)) (float64)."""
    s = np.maximum(np.asarray(x_mean_abs, dtype=np.float64) ** alpha, 1e-4)
    out: np.ndarray = s / np.sqrt(s.max() * s.min())
    return out


def search_awq(
    w: npt.ArrayLike, x: npt.ArrayLike, spec: QuantSpec = W4_G128, alphas: npt.ArrayLike = ALPHAS
) -> AlgorithmResult:
    """The per-input-channel scales (and alpha) whose quantized layer output is closest to float.

    Returns the codes of w * s (weight = their dequantized values, the layer's deployed weight) with
    input_scale = s; info: alpha, errors per alpha, rtn_error (alpha = 0), scales.
    """
    w = as_matrix(w)
    x = as_rows(x, w.shape[1], "AWQ")
    spec = check_grid_spec(spec, w.shape)
    grid = check_grid_values(alphas, "alphas", 0.0, 1.0)
    x_mean = np.abs(x).mean(axis=0, dtype=np.float64)
    errors = [output_mse(x, w, _scaled_rtn(w, awq_scales(x_mean, a), spec)) for a in grid]
    best = int(np.argmin(errors))
    s = awq_scales(x_mean, float(grid[best]))
    r = rtn(w * s.astype(w.dtype), spec)
    info = {
        "alpha": float(grid[best]),
        "alphas": grid.tolist(),
        "errors": [float(e) for e in errors],
        "rtn_error": output_mse(x, w, rtn(w, spec).x_dq),
        "scales": s,
    }
    return AlgorithmResult("awq", r.x_dq, r.q, r.scale, r.zero_point, spec, input_scale=s, info=info)


def _scaled_rtn(w: np.ndarray, s: np.ndarray, spec: QuantSpec) -> np.ndarray:
    """w_eff = Q(w * s) / s: the weight the original x effectively meets."""
    s = s.astype(w.dtype)
    w_eff: np.ndarray = rtn(w * s, spec).x_dq / s
    return w_eff
