"""Min-max range: the smallest and largest finite value of each row.

    lo[g] = min(x2d[g]),  hi[g] = max(x2d[g])      (finite values only)

Nothing is clipped, so all the error is rounding error; one outlier stretches the grid for
every other value. The other estimators reuse `finite_minmax` for their bounds.

    >>> from qviz.quant import QuantSpec
    >>> minmax_range(np.array([[-1.0, 0.5, np.inf, 3.0]]), QuantSpec())
    (array([-1.]), array([3.]))

# NOTE: non-finite values (nan, +-inf) are ignored by every estimator; a row with no
# finite value gets the range [0, 0] (qparams then use scale 1, see qparams.py).
"""

from __future__ import annotations

import numpy as np

from qviz.quant.spec import QuantSpec


def finite_mask(x2d: np.ndarray) -> np.ndarray | None:
    """Boolean mask of finite values, or None when every value is finite (the fast path)."""
    finite = np.isfinite(x2d)
    return None if finite.all() else finite


def finite_minmax(x2d: np.ndarray, finite: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-row min and max of the finite values as float64 [G]; [0, 0] for rows with none."""
    if finite is None:
        return np.min(x2d, axis=1).astype(np.float64), np.max(x2d, axis=1).astype(np.float64)
    lo = np.min(x2d, axis=1, where=finite, initial=np.inf).astype(np.float64)
    hi = np.max(x2d, axis=1, where=finite, initial=-np.inf).astype(np.float64)
    empty = ~finite.any(axis=1)
    lo[empty] = 0.0
    hi[empty] = 0.0
    return lo, hi


def minmax_range(x2d: np.ndarray, spec: QuantSpec) -> tuple[np.ndarray, np.ndarray]:
    """[min, max] of each row's finite values."""
    return finite_minmax(x2d, finite_mask(x2d))
