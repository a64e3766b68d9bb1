"""Simulated float formats: round values to float16, bfloat16, float8 e4m3fn or float8 e5m2.

A float with m mantissa bits holds, between 2**e and 2**(e+1), the grid of step 2**(e - m);
below the smallest normal 2**emin the step stays 2**(emin - m) (subnormals). So

    cast(x) = rint(x / step) * step,   step = 2**(max(floor(log2|x|), emin) - m)

rounding to nearest, ties to even (np.rint); both scalings are exact powers of two (frexp /
ldexp), so the only rounding is the one the format does. Then values beyond the largest
finite value follow onnxruntime's Cast (opset 21, saturate=1 by default):

    format          max finite  overflow and +-Inf               NaN
    float16         65504       +-Inf (IEEE; saturate ignored)    NaN
    bfloat16        3.39e38     +-Inf (IEEE; saturate ignored)    NaN
    float8_e4m3fn   448         +-448 (saturate=False: NaN)       NaN  (no Inf in the format)
    float8_e5m2     57344       +-57344 (saturate=False: +-Inf)   NaN

Example: cast_to_float([0.1, 300, 1000], "float8_e4m3fn") -> [0.1015625, 288, 448]
(0.1 is between 0.09375 and 0.1015625, step 2**-7 there; 300 is between 288 and 320, step 32).

# NOTE: overflow is decided *after* rounding, as IEEE does: float16 turns 65519 into 65504 but
# 65520 (a tie, rounding to the even 65536) into Inf.
# NOTE: with saturate=False onnxruntime 1.31 has two quirks that qviz does not copy (its bit
# code, from the ONNX reference, special-cases the top binade): e4m3fn maps most of
# [480, 512) to 448 instead of NaN, and e5m2 maps (61440, 65536) to NaN instead of Inf.
# qviz gives NaN (e4m3fn) and Inf (e5m2) for every value that rounds above the max there.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qviz.quant.granularity import to_groups
from qviz.quant.result import QuantResult, make_result
from qviz.quant.spec import FLOAT_FORMATS, QuantSpec, SpecError

# format: (mantissa bits, smallest normal exponent, largest finite value, has Inf)
FORMATS = {
    "float16": (10, -14, 65504.0, True),
    "bfloat16": (7, -126, float(np.float32(3.3895313892515355e38)), True),
    "float8_e4m3fn": (3, -6, 448.0, False),
    "float8_e5m2": (2, -14, 57344.0, True),
}
FLOAT8 = ("float8_e4m3fn", "float8_e5m2")


def max_finite(fmt: str) -> float:
    """Largest finite value of a format, e.g. max_finite("float8_e4m3fn") == 448.0."""
    return FORMATS[_check_format(fmt)][2]


def cast_to_float(x: npt.ArrayLike, fmt: str, saturate: bool = True) -> npt.NDArray[np.float32]:
    """Round x to the nearest value of `fmt` (ties to even); float32 array of those values.

    `saturate` only matters for the float8 formats, as in ONNX Cast.
    # NOTE: float64 input is rounded to float32 first, then to the format, exactly as
    # onnxruntime's Cast from double does (so a value just above a tie can round down).
    """
    mant, emin, fmax, has_inf = FORMATS[_check_format(fmt)]
    with np.errstate(over="ignore"):
        x = np.asarray(x).astype(np.float32, copy=False)
    a = np.abs(x)
    _, e = np.frexp(a)  # a = f * 2**e with f in [0.5, 1): the leading bit is 2**(e - 1)
    step = np.maximum(e - 1, emin) - mant
    with np.errstate(over="ignore", invalid="ignore"):
        y = np.ldexp(np.rint(np.ldexp(a, -step)), step)
        over = y > fmax  # False for NaN; True for Inf
    y[over] = _overflow_value(fmt, fmax, has_inf, saturate)
    signed: npt.NDArray[np.float32] = np.copysign(y, x).astype(np.float32)  # numpy types copysign Any
    return signed


def _overflow_value(fmt: str, fmax: float, has_inf: bool, saturate: bool) -> float:
    if fmt in FLOAT8 and saturate:
        return fmax
    return np.inf if has_inf else np.nan


def quantize_float(x: npt.ArrayLike, spec: QuantSpec) -> QuantResult:
    """Simulate storing x in spec.float_format: x_dq = cast_to_float(x), q = None.

    lo, hi are -max_finite, +max_finite for every group of the spec's granularity. x_dq is
    float32 (float64 for float64 x, holding the same values). float16/bfloat16 overflow to
    Inf as IEEE does, and then the result's clip_mse is Inf, which is the honest number.
    """
    x = np.asarray(x)
    x_dq = cast_to_float(x, spec.float_format).astype(np.float64 if x.dtype == np.float64 else np.float32)
    rows = to_groups(x, spec.granularity, spec.axis, spec.group_size).shape[0] if x.size else 1
    fmax = max_finite(spec.float_format)
    with np.errstate(over="ignore", invalid="ignore"):
        return make_result(spec, x, x_dq, np.full(rows, -fmax), np.full(rows, fmax))


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise SpecError(f"float_format must be one of {', '.join(FLOAT_FORMATS)}; got {fmt!r}")
    return fmt
