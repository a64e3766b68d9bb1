"""Manual range: the user's [range_min, range_max], the same for every row.

    >>> from qviz.quant import QuantSpec
    >>> manual_range(np.zeros((3, 4)), QuantSpec(estimator="manual", range_min=-1.0, range_max=2.0))
    (array([-1., -1., -1.]), array([2., 2., 2.]))

QuantSpec already checked that both bounds are finite and range_min <= range_max.
"""

from __future__ import annotations

import numpy as np

from qviz.quant.spec import QuantSpec, SpecError


def manual_range(x2d: np.ndarray, spec: QuantSpec) -> tuple[np.ndarray, np.ndarray]:
    """spec.range_min / spec.range_max broadcast to one entry per row."""
    lo, hi = spec.range_min, spec.range_max
    if lo is None or hi is None:  # QuantSpec rejects this for estimator=manual; a direct call can still pass it
        raise SpecError("estimator=manual needs range_min and range_max")
    rows = x2d.shape[0]
    return np.full(rows, float(lo)), np.full(rows, float(hi))
