"""Scale and zero point from a clipping range [lo, hi] (integer affine quantization).

    scale      = (hi - lo) / (qmax - qmin)
    zero_point = round_half_even(qmin - lo / scale), clipped to [qmin, qmax]

qviz's rules, the same as onnxruntime's quantization tool:
- the range is widened to include 0, so that 0.0 is exactly representable (padding,
  ReLU outputs and zero weights stay exact);
- symmetric: lo, hi = -a, a with a = max(|lo|, |hi|), and the zero point is 0 (signed)
  or the middle code (unsigned, e.g. 128 for uint8);
- a range narrower than float32's smallest normal (an all-zero or constant-zero tensor)
  gets scale 1.0, so nothing divides by zero and zeros quantize to the zero point;
- pow2_scale rounds the scale *up* to a power of two, so the range still fits;
- the scale is capped at 2**127 (a power of two below float32's max): a float64 range too
  wide for float32 saturates instead of giving an infinite scale (and NaN from 0 * inf).

Worked example (the classic one): 0.5 in [-1, 1], 8 bits asymmetric (uint8):
scale = float32(2/255) = 0.0078431; zero_point = rint(0 + 1/scale) = rint(127.49999) = 127
(float32 rounding puts 1/scale just below the tie); code = rint(0.5/scale) + 127 = 64 + 127 = 191.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

TINY = np.finfo(np.float32).tiny
MAX_SCALE = 2.0**127


def qparams_from_range(
    lo: npt.ArrayLike, hi: npt.ArrayLike, qmin: int, qmax: int, symmetric: bool, pow2_scale: bool = False
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    """Return (scale float32, zero_point int32), each the broadcast shape of lo and hi."""
    lo = np.minimum(np.asarray(lo, dtype=np.float64), 0.0)
    hi = np.maximum(np.asarray(hi, dtype=np.float64), 0.0)
    if symmetric:
        amax = np.maximum(-lo, hi)
        lo, hi = -amax, amax
    scale: np.ndarray = (hi - lo) / (qmax - qmin)  # float64 until the cast to float32 below
    scale = np.where(scale < TINY, 1.0, scale)
    if pow2_scale:
        scale = np.exp2(np.ceil(np.log2(scale)))
    scale = np.minimum(scale, MAX_SCALE).astype(np.float32)
    if symmetric:
        zero_point = np.full(scale.shape, 0 if qmin < 0 else (qmin + qmax + 1) // 2)
    else:
        zero_point = np.clip(np.rint(qmin - lo / scale.astype(np.float64)), qmin, qmax)
    return scale, np.asarray(zero_point, dtype=np.int32)
