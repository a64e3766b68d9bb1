"""Percentile range: clip the rarest values, keep `spec.percentile` % of them inside.

    symmetric:   [-P, P] with P = P_p(|x|), cut to [min, max]   (p = spec.percentile, e.g. 99.99)
    asymmetric:  lo = P_(100-p)(x),  hi = P_p(x)   (p % of the values below hi, p % above lo)

Percentiles interpolate linearly between order statistics (numpy's default). With
p = 100 this is min-max (symmetric: max |x|).

    >>> from qviz.quant import QuantSpec
    >>> x = np.arange(1.0, 101.0)[None]           # 1..100
    >>> percentile_range(x, QuantSpec(symmetric=False, percentile=99.0))
    (array([1.99]), array([99.01]))
"""

from __future__ import annotations

import numpy as np

from qviz.quant.ranges.minmax import finite_mask, finite_minmax
from qviz.quant.spec import QuantSpec


def percentile_range(x2d: np.ndarray, spec: QuantSpec) -> tuple[np.ndarray, np.ndarray]:
    """Per-row percentile bounds of the finite values; [0, 0] for rows with none."""
    p = float(spec.percentile)
    if spec.symmetric:
        # NOTE: [-P, P] is cut to the data's [min, max]; the symmetric qparams still get
        # max(-lo, hi) = P, and the range reads as a data range (e.g. [0, P] for ReLU outputs).
        amax = row_percentiles(np.abs(x2d), [p])[0]
        lo, hi = finite_minmax(x2d, finite_mask(x2d))
        return np.maximum(-amax, lo), np.minimum(amax, hi)
    lo, hi = row_percentiles(x2d, [100.0 - p, p])
    return lo, hi


def row_percentiles(x2d: np.ndarray, ps: list[float]) -> np.ndarray:
    """Percentiles ps (in %) of each row's finite values -> float64 [len(ps), G]."""
    finite = finite_mask(x2d)
    if finite is None:
        out: np.ndarray = np.percentile(x2d, ps, axis=1).astype(np.float64)  # numpy types it Any
        return out
    # NOTE: np.nanpercentile falls back to a per-row Python loop; sorting with the
    # non-finite values pushed to the end of each row stays vectorized.
    xs = np.sort(np.where(finite, x2d, np.inf), axis=1).astype(np.float64)
    count = finite.sum(axis=1)
    out = np.zeros((len(ps), x2d.shape[0]))
    rows = np.flatnonzero(count)
    for i, p in enumerate(ps):
        pos = (count[rows] - 1) * (p / 100.0)
        below = np.floor(pos).astype(np.int64)
        above = np.minimum(below + 1, count[rows] - 1)
        frac = pos - below
        out[i, rows] = xs[rows, below] * (1 - frac) + xs[rows, above] * frac
    return out
