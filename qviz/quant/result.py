"""QuantResult: everything one quantization of one tensor produced."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .spec import QuantSpec


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
    extra: dict = field(default_factory=dict)

    @property
    def mse(self) -> float:
        return self.clip_mse + self.round_mse

    @property
    def qmin(self) -> int:
        return self.spec.qmin

    @property
    def qmax(self) -> int:
        return self.spec.qmax
