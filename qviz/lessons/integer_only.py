"""Integer-only inference of one Gemm/MatMul layer, as onnxruntime's QLinearMatMul defines it.

    x_q = quantize(x; sx, zx)  uint8         W_q = quantize(W; sw, 0)  int8 (per tensor or per output channel)
    acc = sum_k (x_q - zx) * (W_q - 0) + b_q   int32, with b_q = round(b / (sx * sw))
    M   = sx * sw / sy                        the one real number left: the requantization multiplier
    y_q = saturate(round(acc * M) + zy)       uint8

Two ways to apply M, both returned:
- **onnxruntime (the oracle)**: M as a float32 (`float32(sx * sw) / sy`), acc converted to
  float32, multiplied, rounded half to even, clamped. This is what its CPU kernels do (MLAS
  "requantize output"); tests/lessons/test_intonly.py checks it bit for bit against QLinearMatMul.
- **fixed point (gemmlowp / TFLite)**: M = M0 * 2**-31 * 2**-n with M0 an int32 in
  [2**30, 2**31) and a shift n; acc * M0 is rounded to its high 32 bits (rounding doubling
  high multiply), then divided by 2**n rounding half away from zero: two roundings, as gemmlowp
  does (so not always round(acc * M) in one step). No float anywhere.
  It can differ from onnxruntime by one code on a few outputs (different rounding of ties
  and of float32(acc) above 2**24): `fixed_diff` counts them.

Example: M = 0.0123 = 0.7872 * 2**-6 -> M0 = round(0.7872 * 2**31) = 1690499128, n = 6:

    >>> m0, n = quantize_multiplier(0.0123)
    >>> int(m0[0]), int(n[0])
    (1690499128, 6)
    >>> abs(float(m0[0]) * 2.0**-31 * 2.0**-int(n[0]) - 0.0123) / 0.0123 < 2**-31    # M0 * 2**-31 * 2**-n ~ M
    True

# NOTE: onnxruntime's x86 u8s8 kernel without AVX-512 VNNI (this machine) multiplies with
# vpmaddubsw, which sums PAIRS of uint8 * int8 products into int16 *with saturation*: 2 * 255 * 127
# overflows 32767, so full-range int8 weights can give a different int32 accumulator than the
# exact math (measured: 80 of 3,200 accumulators, off by up to 11,518). Weights in [-64, 64]
# ("reduce_range", what onnxruntime's quantizer does for such CPUs) never saturate (2*255*64 = 32640)
# and the result is bit-exact; reduce_range=False shows the exact integer math, not the kernel's.
# NOTE: numpy only. Ranges come from the caller (calibration data), W's layout is Gemm's
# transB=1: (out_features, in_features), so per-channel means one scale per row of W.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qviz.quant.affine import dequantize_linear, quantize_linear
from qviz.quant.qparams import qparams_from_range
from qviz.quant.spec import SpecError

U8, I8, W_REDUCED = (0, 255), (-128, 127), (-64, 64)
INT32 = (-(2**31), 2**31 - 1)


@dataclass(frozen=True)
class IntOnlyResult:
    """Every intermediate of integer_gemm (arrays are (batch, out) unless noted)."""

    x_q: np.ndarray  # uint8 (batch, in)
    sx: np.float32
    zx: int
    w_q: np.ndarray  # int8 (out, in)
    sw: np.ndarray  # float32 (out,) per channel or (1,) per tensor
    b_q: np.ndarray | None  # int32 (out,)
    acc: np.ndarray  # int32
    sy: np.float32
    zy: int
    m: np.ndarray  # float64 real multiplier sx*sw/sy, (out,) or (1,)
    m_float32: np.ndarray  # the float32 multiplier onnxruntime uses
    m0: np.ndarray  # int32 Q31 mantissa
    shift: np.ndarray  # right shift n (negative = left shift)
    y_q: np.ndarray  # uint8, onnxruntime's requantization (the oracle's)
    y_q_fixed: np.ndarray  # uint8, fixed-point requantization
    y_dq: np.ndarray  # float32 (y_q - zy) * sy
    y_float: np.ndarray  # float32 x @ W.T + b, the float reference

    @property
    def fixed_diff(self) -> int:
        """How many output codes the fixed-point path gets differently from onnxruntime."""
        return int(np.count_nonzero(self.y_q != self.y_q_fixed))


def quantize_multiplier(m) -> tuple[np.ndarray, np.ndarray]:
    """(M0 int32, n) with M = M0 * 2**-31 * 2**-n and 2**30 <= M0 < 2**31 (TFLite's QuantizeMultiplier).

    Relative error |M0 * 2**-31 * 2**-n - M| / M <= 2**-31 (M0 is a rounding of M's mantissa).
    """
    m = np.atleast_1d(np.asarray(m, dtype=np.float64))
    if not np.all(np.isfinite(m)) or np.any(m <= 0):
        raise SpecError(f"multiplier must be finite and > 0; got {m.min()!r}")
    frac, exp = np.frexp(m)  # m = frac * 2**exp, frac in [0.5, 1)
    m0 = np.rint(frac * 2.0**31).astype(np.int64)
    carry = m0 == 2**31  # the mantissa rounded up to 1.0
    m0 = np.where(carry, m0 // 2, m0)
    return m0.astype(np.int32), (-(exp + carry)).astype(np.int64)


def rounding_doubling_high_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """gemmlowp's SaturatingRoundingDoublingHighMul: round(a * b / 2**31), ties away from 0 (int64 math)."""
    prod = a.astype(np.int64) * b.astype(np.int64)
    nudge = np.where(prod >= 0, 1 << 30, 1 - (1 << 30))
    total = prod + nudge
    high = np.where(total >= 0, total >> 31, -((-total) >> 31))  # C division: truncates toward 0
    return np.clip(high, *INT32)


def rounding_divide_by_pot(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT: x / 2**n rounded half away from zero (n >= 0)."""
    mask = (np.int64(1) << n) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> n) + (remainder > threshold)


def requantize_fixed(acc: np.ndarray, m0: np.ndarray, shift: np.ndarray, zy: int) -> np.ndarray:
    """uint8 codes: RoundingDivideByPOT(SRDHM(acc << left, M0), right) + zy, saturated."""
    left, right = np.maximum(-shift, 0), np.maximum(shift, 0)
    scaled = np.clip(acc.astype(np.int64) << left, *INT32)
    y = rounding_divide_by_pot(rounding_doubling_high_mul(scaled, m0), right) + zy
    return np.clip(y, *U8).astype(np.uint8)


def requantize_float(acc: np.ndarray, m_float32: np.ndarray, zy: int) -> np.ndarray:
    """uint8 codes as onnxruntime: rint(float32(acc) * M) clamped, then + zy."""
    y = acc.astype(np.float32) * m_float32
    y = np.clip(y, np.float32(U8[0] - zy), np.float32(U8[1] - zy))
    return (np.rint(y).astype(np.int32) + zy).astype(np.uint8)


def quantize_input(x: np.ndarray, x_range: tuple[float, float]):
    """(x_q uint8, sx, zx): asymmetric uint8 from the calibration range."""
    sx, zx = qparams_from_range(x_range[0], x_range[1], *U8, symmetric=False)
    x_q = quantize_linear(np.asarray(x, dtype=np.float32), sx, zx, *U8)
    return x_q.astype(np.uint8), np.float32(sx), int(zx)


def quantize_weights(w: np.ndarray, per_channel: bool, reduce_range: bool = True):
    """(W_q int8, sw): symmetric, zero point 0, one scale per row (per channel) or one in all.

    reduce_range keeps the codes in [-64, 64] (7 bits), as onnxruntime's quantizer does for
    CPUs without VNNI (see the module NOTE); otherwise [-128, 127].
    """
    w = np.asarray(w, dtype=np.float32)
    qmin, qmax = W_REDUCED if reduce_range else I8
    amax = np.abs(w).max(axis=1) if per_channel else np.atleast_1d(np.abs(w).max())
    sw, zw = qparams_from_range(-amax, amax, qmin, qmax, symmetric=True)
    axis = 0 if per_channel else None
    w_q = quantize_linear(w, sw if per_channel else sw[0], zw if per_channel else zw[0], qmin, qmax, axis=axis)
    return w_q.astype(np.int8), sw


def quantize_bias(b, sx: np.float32, sw: np.ndarray) -> np.ndarray:
    """b_q = round_half_even(b / (sx * sw)) as int32 (zero point 0), as onnxruntime's quantizer does."""
    bias_scale = (np.float32(sx) * sw).astype(np.float64)
    return np.clip(np.rint(np.asarray(b, dtype=np.float64) / bias_scale), *INT32).astype(np.int32)


def accumulate(x_q, zx: int, w_q, b_q) -> np.ndarray:
    """int32 sum_k (x_q - zx) * W_q (+ b_q); SpecError if it would overflow int32."""
    acc = (x_q.astype(np.int64) - zx) @ w_q.astype(np.int64).T
    if b_q is not None:
        acc = acc + b_q
    if acc.size and (acc.min() < INT32[0] or acc.max() > INT32[1]):
        raise SpecError("accumulator overflows int32; use fewer input features or smaller codes")
    return acc.astype(np.int32)


def integer_gemm(x, w, b, x_range, y_range, per_channel: bool = False, reduce_range: bool = True) -> IntOnlyResult:
    """Integer-only y = x @ W.T + b (module docstring); x (batch, in), W (out, in), b (out,) or None."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float32))
    x_q, sx, zx = quantize_input(x, x_range)
    w_q, sw = quantize_weights(w, per_channel, reduce_range)
    b_q = None if b is None else quantize_bias(b, sx, sw)
    acc = accumulate(x_q, zx, w_q, b_q)
    sy_array, zy_array = qparams_from_range(y_range[0], y_range[1], *U8, symmetric=False)
    sy, zy = np.float32(sy_array), int(zy_array)
    m_float32 = (np.float32(sx) * sw) / sy
    m0, shift = quantize_multiplier(m_float32)
    y_q = requantize_float(acc, m_float32, zy)
    y_float = x @ np.asarray(w, dtype=np.float32).T + (0 if b is None else np.asarray(b, dtype=np.float32))
    return IntOnlyResult(
        x_q=x_q,
        sx=sx,
        zx=zx,
        w_q=w_q,
        sw=sw,
        b_q=b_q,
        acc=acc,
        sy=sy,
        zy=zy,
        m=np.float64(sx) * sw.astype(np.float64) / np.float64(sy),
        m_float32=m_float32,
        m0=m0,
        shift=shift,
        y_q=y_q,
        y_q_fixed=requantize_fixed(acc, m0, shift, zy),
        y_dq=dequantize_linear(y_q, sy, np.int32(zy)),
        y_float=y_float.astype(np.float32),
    )
