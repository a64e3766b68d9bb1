"""Manual range: the user's [range_min, range_max], the same for every row.

    >>> manual_range(np.zeros((3, 4)), QuantSpec(estimator="manual", range_min=-1.0, range_max=2.0))
    (array([-1., -1., -1.]), array([2., 2., 2.]))

QuantSpec already checked that both bounds are finite and range_min <= range_max.
"""

from __future__ import annotations

import numpy as np


def manual_range(x2d: np.ndarray, spec) -> tuple[np.ndarray, np.ndarray]:
    """spec.range_min / spec.range_max broadcast to one entry per row."""
    rows = x2d.shape[0]
    return np.full(rows, float(spec.range_min)), np.full(rows, float(spec.range_max))
