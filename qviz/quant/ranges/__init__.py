"""Range estimators: the clipping range [lo, hi] of each row of x2d (one row per scale).

    lo, hi = estimate_range(x2d, spec)      # float64 arrays of shape [G]

    minmax      smallest / largest value: nothing clipped
    percentile  keep spec.percentile % of the values inside (of |x| when symmetric)
    sigma       mean +- k*std, k from spec.sigmas or the Gaussian-optimal k for spec.bits
    mse         the range whose int quantization error is smallest (searched)
    entropy     the range whose quantized histogram is closest in KL divergence (TensorRT)
    manual      spec.range_min / spec.range_max for every row

Rules shared by all: non-finite values (nan, +-inf) are ignored; a row without any finite
value gets [0, 0]; an empty x2d gives [0, 0] for each of its rows; lo <= hi always, and
every estimator except manual stays inside the data's [min, max].
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from qviz.quant.ranges.entropy import entropy_range
from qviz.quant.ranges.manual import manual_range
from qviz.quant.ranges.minmax import minmax_range
from qviz.quant.ranges.mse import mse_range
from qviz.quant.ranges.percentile import percentile_range
from qviz.quant.ranges.sigma import SIGMAS_BY_BITS, sigma_range
from qviz.quant.spec import Estimator, QuantSpec, SpecError

RangeEstimator = Callable[[np.ndarray, QuantSpec], tuple[np.ndarray, np.ndarray]]

ESTIMATOR_FUNCTIONS: dict[Estimator, RangeEstimator] = {
    "minmax": minmax_range,
    "percentile": percentile_range,
    "sigma": sigma_range,
    "mse": mse_range,
    "entropy": entropy_range,
    "manual": manual_range,
}


def estimate_range(x2d: np.ndarray, spec: QuantSpec) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi), float64 [G], for each row of x2d [G, N] with spec.estimator."""
    x2d = np.asarray(x2d)
    if x2d.ndim != 2:
        raise SpecError(f"estimate_range needs a 2-D [groups, values] array (see to_groups); got shape {x2d.shape}")
    if spec.estimator != "manual" and x2d.shape[1] == 0:
        return np.zeros(x2d.shape[0]), np.zeros(x2d.shape[0])
    lo, hi = ESTIMATOR_FUNCTIONS[spec.estimator](x2d, spec)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)


__all__ = ["ESTIMATOR_FUNCTIONS", "SIGMAS_BY_BITS", "estimate_range"]
