"""Sigma range: mean +- k standard deviations ("standardize, clip at k, round, de-normalize").

    lo = max(mean - k*std, min),  hi = min(mean + k*std, max)

k = spec.sigmas, or when that is None the clipping that minimizes the expected error of a
b-bit uniform quantizer on Gaussian data (ACIQ, Banner et al. 2019, "Post training 4-bit
quantization of convolutional networks for rapid-deployment"):

    k*(b) = argmin_a  2*[(a^2 + 1)(1 - Phi(a)) - a*phi(a)]  +  a^2 / (3 * 4**b)
                      \\---- clipping error, exact ----/     \\-- rounding: step^2/12,
                                                                  step = 2a / 2**b

    bits  2     3     4     5     6     7     8     10    12    16
    k     1.71  2.15  2.56  2.94  3.29  3.61  3.92  4.49  5.01  5.94

Bits outside 1..16 use the nearest table entry. The bounds never go past the data's
min/max (a wider range only wastes codes).

    >>> from qviz.quant import QuantSpec
    >>> x = np.random.default_rng(0).normal(size=(1, 100_000))
    >>> lo, hi = sigma_range(x, QuantSpec(bits=4))            # k = 2.56 at 4 bits; std(x) ~ 1
    >>> round(float(lo[0]), 2), round(float(hi[0]), 2)
    (-2.56, 2.56)
"""

from __future__ import annotations

import numpy as np

from qviz.quant.ranges.minmax import finite_mask, finite_minmax
from qviz.quant.spec import QuantSpec

# k*(bits) from the formula above (minimized on a 0.0005 grid), bits 1..16.
SIGMAS_BY_BITS = {
    1: 1.24,
    2: 1.71,
    3: 2.15,
    4: 2.56,
    5: 2.94,
    6: 3.29,
    7: 3.61,
    8: 3.92,
    9: 4.22,
    10: 4.49,
    11: 4.76,
    12: 5.01,
    13: 5.26,
    14: 5.49,
    15: 5.72,
    16: 5.94,
}


def sigmas_for(spec: QuantSpec) -> float:
    """spec.sigmas if set, else the Gaussian-optimal k for spec.bits (see module docstring)."""
    if spec.sigmas is not None:
        return float(spec.sigmas)
    return SIGMAS_BY_BITS[min(max(spec.bits, 1), 16)]


def sigma_range(x2d: np.ndarray, spec: QuantSpec) -> tuple[np.ndarray, np.ndarray]:
    """Per-row mean +- k*std of the finite values, kept inside [min, max]."""
    finite = finite_mask(x2d)
    lo, hi = finite_minmax(x2d, finite)
    where = True if finite is None else finite
    count = np.full(x2d.shape[0], x2d.shape[1]) if finite is None else finite.sum(axis=1)
    count = np.maximum(count, 1)  # rows without finite values: lo = hi = 0 anyway
    mean = np.sum(x2d, axis=1, where=where, dtype=np.float64) / count
    var = np.sum(np.square(x2d - mean[:, None], dtype=np.float64), axis=1, where=where) / count
    k = sigmas_for(spec)
    spread = k * np.sqrt(var)
    return np.maximum(mean - spread, lo), np.minimum(mean + spread, hi)
