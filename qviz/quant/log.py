"""Logarithmic quantization: a sign and a power of two, plus an exact zero.

    levels = {0} U {+-2**e : e = e_max - E + 1, ..., e_max},   E = 2**(bits-1) - 1
    e_max  = round(log2(a)),  a = max(|lo|, |hi|) from spec.estimator (per row)

`bits` includes the sign bit: the sign takes one bit and the other bits-1 bits give
2**(bits-1) magnitude codes, one of which is zero, so E = 2**(bits-1) - 1 exponents and
2*E + 1 = 2**bits - 1 levels (the would-be "-0" code is not used). 4 bits: 0, +-2**e for
7 exponents. Multiplying by a level is a shift, which is why hardware likes this format.

Each value goes to the *nearest* level in the linear domain (the least squared error), not
the nearest exponent in the log domain: between 2**e and 2**(e+1) the boundary is 1.5*2**e
(log-domain rounding would put it at sqrt(2)*2**e); below 2**(e_min - 1) a value becomes 0.
A value exactly on a boundary goes to the larger magnitude. spec.rounding is ignored.
e_max rounds log2(a) to the nearest integer: the top level 2**e_max is within a factor
sqrt(2) of the range's top, and larger values saturate to it.

    >>> r = quantize_log(np.float32([0.3, -0.9, 0.01, 2.0]), QuantSpec(scheme="log", bits=3))
    >>> r.x_dq                      # E = 3, a = 2 -> e_max = 1: levels 0, +-0.5, +-1, +-2
    array([ 0.5, -1. ,  0. ,  2. ], dtype=float32)

q holds codebook indices (int32) into codebook[row] = [-2**e_max, ..., -2**e_min, 0,
2**e_min, ..., 2**e_max] (ascending, K = 2**bits - 1 entries). Non-finite values follow the
int scheme's rule: +Inf -> the top level, -Inf and NaN -> the bottom level (index 0).
"""

from __future__ import annotations

import numpy as np

from qviz.quant.granularity import from_groups, to_groups
from qviz.quant.ranges import estimate_range
from qviz.quant.result import QuantResult, make_result
from qviz.quant.spec import QuantSpec


def log_codebook(e_max: np.ndarray, bits: int) -> np.ndarray:
    """Ascending levels [G, 2**bits - 1] for top exponents e_max [G]."""
    count = 2 ** (bits - 1) - 1
    mags = np.exp2(e_max[:, None] - np.arange(count - 1, -1, -1, dtype=np.float64))
    return np.concatenate([-mags[:, ::-1], np.zeros((len(e_max), 1)), mags], axis=1)


def top_exponent(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """round(log2(max(|lo|, |hi|))) per row; 0 for an all-zero row."""
    amax = np.maximum(-lo, hi)
    return np.where(amax > 0, np.rint(np.log2(np.where(amax > 0, amax, 1.0))), 0.0)


def log_indices(x2d: np.ndarray, e_max: np.ndarray, bits: int) -> np.ndarray:
    """Nearest-level codebook indices [G, N] (see the module docstring for the rules)."""
    count = 2 ** (bits - 1) - 1
    e_min = (e_max - (count - 1))[:, None]
    # NaN -> the most negative float, +-Inf -> +-the largest: all saturate like the int scheme.
    x = np.nan_to_num(x2d.astype(np.float64), nan=-np.finfo(np.float64).max)
    frac, exp = np.frexp(np.abs(x))  # |x| = frac * 2**exp, frac in [0.5, 1)
    # NOTE: frexp is exact; |x| in [2**(exp-1), 2**exp) is nearer to 2**exp iff frac >= 0.75.
    e = np.clip(exp - 1 + (frac >= 0.75), e_min, e_max[:, None])
    zero = np.abs(x) < np.exp2(e_min - 1)
    step = (e - e_min + 1).astype(np.int32)
    index = np.where(x < 0, count - step, count + step)
    codes: np.ndarray = np.where(zero, count, index).astype(np.int32)  # Any to numpy's stubs (zero is a ufunc result)
    return codes


def quantize_log(x: np.ndarray, spec: QuantSpec) -> QuantResult:
    """Sign + power-of-two quantization of x; q = codebook indices (module docstring)."""
    x2d = to_groups(x, spec.granularity, spec.axis, spec.group_size)
    lo, hi = estimate_range(x2d, spec)
    e_max = top_exponent(lo, hi)
    codebook = log_codebook(e_max, spec.bits)
    q2d = log_indices(x2d, e_max, spec.bits)
    dtype = np.float64 if x.dtype == np.float64 else np.float32
    x_dq = from_groups(
        np.take_along_axis(codebook, q2d, axis=1).astype(dtype), x.shape, spec.granularity, spec.axis, spec.group_size
    )
    q = from_groups(q2d, x.shape, spec.granularity, spec.axis, spec.group_size)
    top = codebook[:, -1]
    return make_result(
        spec,
        x,
        x_dq,
        -top,
        top,
        q=q,
        codebook=codebook,
        extra={"exponent_max": e_max.astype(np.int64), "range_lo": lo, "range_hi": hi},
    )
