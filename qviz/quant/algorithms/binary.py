"""Binary and ternary weights: one scale per output channel times a sign (or a zero).

Binary (BWN, Rastegari et al. 2016, "XNOR-Net: ImageNet Classification Using Binary
Convolutional Neural Networks", ECCV, eq. 3-4): for output channel c,

    w_b = alpha_c * sign(w),      alpha_c = mean |w_c|           (sign(0) = +1)

alpha_c = mean|w_c| is the scale that minimizes ||w_c - alpha * sign(w_c)||**2.

Ternary (TWN, Li et al. 2016, "Ternary Weight Networks", eq. 9-10): for output channel c,

    delta_c = 0.7 * mean |w_c|
    w_t     = alpha_c * sign(w)  where |w| > delta_c, else 0
    alpha_c = mean of |w| over the weights with |w| > delta_c

Both are integer codes {-1, +1} / {-1, 0, +1} on a symmetric 2-bit restricted grid (qmin -1,
qmax 1, zero point 0) with scale alpha per channel: exactly qviz's QuantSpec(bits=2,
restricted_range=True, granularity="channel", axis=0), so they deploy as any per-channel weight.
A channel of zeros has alpha 0: it is stored as scale 1 with all codes 0, so it stays zero.

    >>> w = np.array([[0.2, -0.4, 0.9, -0.1]])
    >>> binarize(w).weight                   # alpha = mean |w| = 0.4
    array([[ 0.4, -0.4,  0.4, -0.4]])
    >>> ternarize(w).weight                  # delta = 0.7 * 0.4 = 0.28; alpha = (0.4 + 0.9) / 2
    array([[ 0.  , -0.65,  0.65,  0.  ]])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from qviz.quant.algorithms.algorithm_result import AlgorithmResult
from qviz.quant.algorithms.weight_grid import as_matrix, dequantize_codes
from qviz.quant.spec import QuantSpec

TERNARY_GRID = QuantSpec(bits=2, restricted_range=True, granularity="channel", axis=0)  # codes -1, 0, 1
TWN_THRESHOLD = 0.7  # delta = 0.7 * mean|w|, the paper's approximation of the optimal threshold


def binarize(w: npt.ArrayLike) -> AlgorithmResult:
    """alpha_c * sign(w) per output channel (rows of a (out, in) weight)."""
    w = as_matrix(w)
    alpha = np.abs(w).mean(axis=1)
    q = np.where(w >= 0, 1, -1).astype(np.int32)
    return _result("binary", w, q, alpha, {"alpha": alpha})


def ternarize(w: npt.ArrayLike, threshold: float = TWN_THRESHOLD) -> AlgorithmResult:
    """alpha_c * sign(w) where |w| > threshold * mean|w_c|, else 0 (TWN)."""
    w = as_matrix(w)
    a = np.abs(w)
    delta = threshold * a.mean(axis=1, keepdims=True)
    keep = a > delta
    kept = keep.sum(axis=1)
    alpha = np.where(kept > 0, (a * keep).sum(axis=1) / np.maximum(kept, 1), 0.0)
    q = (np.sign(w) * keep).astype(np.int32)
    info = {"alpha": alpha, "delta": delta[:, 0], "zero_fraction": float(1.0 - keep.mean())}
    return _result("ternary", w, q, alpha, info)


def _result(name: str, w: np.ndarray, q: np.ndarray, alpha: np.ndarray, info: dict[str, Any]) -> AlgorithmResult:
    """Codes on the 2-bit restricted grid; a zero alpha (all-zero channel) is stored as scale 1."""
    scale = np.where(alpha > 0, alpha, 1.0).astype(w.dtype)
    q = np.where((alpha > 0)[:, None], q, 0).astype(np.int32)
    zero_point = np.zeros(w.shape[0], dtype=np.int32)
    w_dq = dequantize_codes(q, scale, zero_point, TERNARY_GRID, w.dtype)
    return AlgorithmResult(name, w_dq, q, scale, zero_point, TERNARY_GRID, info=info)
