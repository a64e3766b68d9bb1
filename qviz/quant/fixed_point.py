"""Fixed point Qm.n: integers scaled by a constant power of two.

    q    = clip(round(x * 2**n), qmin, qmax)       n = spec.frac_bits, round = spec.rounding
    x_dq = q / 2**n                                step 2**-n, scale 2**-n, zero point 0

The `bits`-bit integer range is spec.qmin..spec.qmax (signed two's complement or unsigned),
so the representable values are [qmin, qmax] / 2**n and the integer part has
m = bits - n - (1 if signed else 0) bits: Q3.4 is 8 bits signed, values -8 .. 7.9375.

    >>> spec = QuantSpec(scheme="fixed_point", bits=8, frac_bits=4)           # Q3.4
    >>> quantize_fixed_point(np.float32([1.3, 100.0]), spec).x_dq    # 1.3*16 = 20.8 -> 21; 100 saturates at 127/16
    array([1.3125, 7.9375], dtype=float32)

It is scheme=int with scale 2**-n and zero point 0 (dividing by 2**-n is exact), so it
shares the int quantizer's code and its rules for non-finite values: +Inf -> qmax,
-Inf -> qmin, NaN -> qmin. spec.estimator is ignored: the format fixes the range.

# NOTE: codes above 2**24 are not exact in float32, so bits > 24 compute in float64.
"""

from __future__ import annotations

import numpy as np

from qviz.quant.affine import dequantize_linear, quantize_linear
from qviz.quant.granularity import to_groups
from qviz.quant.result import QuantResult, make_result
from qviz.quant.spec import QuantSpec


def integer_bits(spec: QuantSpec) -> int:
    """m in Qm.n: bits - frac_bits - 1 (the sign bit) if signed, else bits - frac_bits; may be < 0."""
    return spec.bits - spec.frac_bits - (1 if spec.signed else 0)


def quantize_fixed_point(x: np.ndarray, spec: QuantSpec) -> QuantResult:
    """Qm.n quantization of x (see the module docstring); scale is the scalar 2**-n."""
    out_dtype = np.float64 if x.dtype == np.float64 else np.float32
    work = x.astype(np.float64) if spec.bits > 24 else x
    step = np.float64(2.0**-spec.frac_bits)
    q = quantize_linear(work, step, np.int32(0), spec.qmin, spec.qmax, rounding=spec.rounding, seed=spec.seed)
    x_dq = dequantize_linear(q, np.float64(step), np.int32(0), dtype=np.float64).astype(out_dtype)
    rows = to_groups(x, spec.granularity, spec.axis, spec.group_size).shape[0]
    lo, hi = np.full(rows, spec.qmin * step), np.full(rows, spec.qmax * step)
    return make_result(
        spec,
        x,
        x_dq,
        lo,
        hi,
        q=q,
        scale=np.float32(step),
        zero_point=np.int32(0),
        extra={"integer_bits": integer_bits(spec), "frac_bits": spec.frac_bits},
    )
