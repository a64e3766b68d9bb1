"""QuantResult: everything one quantization of one tensor produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from qviz.quant.spec import QuantSpec


@dataclass(frozen=True, eq=False)
class QuantResult:
    """The outcome of quantize(x, spec).

    x_dq        dequantized tensor, same shape as x, float32 (float64 if x was float64)
    q           integer codes (int: affine codes; fixed_point: integer mantissas; log/kmeans:
                codebook indices), same shape as x, int32; None for scheme=float
    scale       ONNX-layout scale(s) (see granularity.param_shape); None where meaningless
    zero_point  ONNX-layout zero point(s), int32; None where meaningless
    codebook    the representable levels for log/kmeans (per row of x2d: [G, K]); else None
    lo, hi      the clipping range actually used, per group (shape [G])
    clipped_fraction  share of finite values outside [lo, hi] (they saturate)
    clip_mse    mean over all values of the squared error of the clipped values
    round_mse   mean over all values of the squared error of the values inside the range;
                clip_mse + round_mse == mse(x, x_dq)
    """

    spec: QuantSpec
    x_dq: np.ndarray
    q: np.ndarray | None
    scale: np.ndarray | None
    zero_point: np.ndarray | None
    lo: np.ndarray
    hi: np.ndarray
    clipped_fraction: float
    clip_mse: float
    round_mse: float
    codebook: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def mse(self) -> float:
        return self.clip_mse + self.round_mse

    @property
    def qmin(self) -> int:
        return self.spec.qmin

    @property
    def qmax(self) -> int:
        return self.spec.qmax


def make_result(
    spec: QuantSpec, x: np.ndarray, x_dq: np.ndarray, lo: npt.ArrayLike, hi: npt.ArrayLike, **fields: Any
) -> QuantResult:
    """Build a QuantResult, computing the clipped fraction and the clipping/rounding error split.

    lo, hi are per-row bounds of the representable range (shape [G] for the spec's
    granularity, see granularity.to_groups); a finite value outside them saturated, so its
    whole error counts as clipping error, every other value's error as rounding error.
    Non-finite values of x are left out of all three numbers.
    """
    from qviz.quant.granularity import to_groups  # local: granularity imports spec, keep result light

    lo = np.asarray(lo, dtype=np.float64).reshape(-1)
    hi = np.asarray(hi, dtype=np.float64).reshape(-1)
    n = x.size
    if n == 0:
        return QuantResult(
            spec,
            x_dq,
            lo=lo,
            hi=hi,
            clipped_fraction=0.0,
            clip_mse=0.0,
            round_mse=0.0,
            **{"q": None, "scale": None, "zero_point": None, **fields},
        )
    x2d = to_groups(x, spec.granularity, spec.axis, spec.group_size)
    dq2d = to_groups(x_dq, spec.granularity, spec.axis, spec.group_size)
    finite = np.isfinite(x2d)
    clipped = ((x2d < lo[:, None]) | (x2d > hi[:, None])) & finite
    with np.errstate(over="ignore"):  # errors beyond float64 (|x| > 1e154) are an honest inf
        err = np.square(x2d.astype(np.float64) - dq2d, where=finite, out=np.zeros(x2d.shape))
    clip_sse = float(err[clipped].sum())
    n_finite = max(int(finite.sum()), 1)
    return QuantResult(
        spec,
        x_dq,
        lo=lo,
        hi=hi,
        clipped_fraction=float(clipped.sum()) / n_finite,
        clip_mse=clip_sse / n_finite,
        round_mse=(float(err.sum()) - clip_sse) / n_finite,
        **{"q": None, "scale": None, "zero_point": None, **fields},
    )
