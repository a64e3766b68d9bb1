"""The Learn page's curves: SQNR against bits, clipping vs rounding error, histogram, levels.

The 6.02 dB/bit rule: a uniform quantizer with range width R and 2**b steps has step
R / 2**b and (for values spread over the steps) noise power step**2 / 12, so

    SQNR = 10 log10(var(x) / (R**2 / (12 * 4**b))) = 6.02 b + 10 log10(12 var(x) / R**2)

Each extra bit halves the step: +6.02 dB. Uniform data on [-A, A] (var A**2/3, R = 2A)
gives exactly 6.02 b; peaky data (laplace, outliers) sits lower by its "loading" term.
"""

from __future__ import annotations

import numpy as np

from qviz.quant import QuantSpec
from qviz.quant.api import quantize
from qviz.quant.granularity import params_to_rows
from qviz.quant.metrics import sqnr_db
from qviz.quant.spec import BITS_RANGE

DB_PER_BIT = 20 * np.log10(2)  # 6.0206
MAX_DRAWN_LEVELS = 256


def sqnr_vs_bits(x: np.ndarray, spec: QuantSpec, bits=range(2, 17)) -> tuple[np.ndarray, np.ndarray]:
    """(bits, SQNR in dB) for every bit width the scheme allows; empty for scheme=float.

    Fixed point keeps its integer bits m = bits - frac_bits (the range) and spends each extra
    bit on the fraction (the step), so it follows the 6 dB/bit rule like the others.
    """
    if spec.scheme == "float":
        return np.array([], dtype=int), np.array([])
    lo, hi = BITS_RANGE[spec.scheme]
    int_bits = spec.bits - spec.frac_bits
    widths = np.array([b for b in bits if lo <= b <= hi and (spec.scheme != "fixed_point" or b >= int_bits)], dtype=int)
    values = [sqnr_db(x, quantize(x, _with_bits(spec, int(b), int_bits)).x_dq) for b in widths]
    return widths, np.asarray(values, dtype=np.float64)


def _with_bits(spec: QuantSpec, bits: int, int_bits: int) -> QuantSpec:
    if spec.scheme == "fixed_point":
        return spec.replace(bits=bits, frac_bits=bits - int_bits)
    return spec.replace(bits=bits)


def six_db_rule(x: np.ndarray, bits: np.ndarray, symmetric: bool) -> np.ndarray:
    """6.02 b + 10 log10(12 var / R**2) with R the min-max range (symmetric: 2 max|x|)."""
    x = np.asarray(x, dtype=np.float64)
    width = 2 * np.abs(x).max() if symmetric else max(x.max(), 0.0) - min(x.min(), 0.0)
    if width == 0 or x.var() == 0:
        return np.full(len(bits), np.nan)
    return DB_PER_BIT * np.asarray(bits) + 10 * np.log10(12 * x.var() / width**2)


def clip_round_curve(x: np.ndarray, spec: QuantSpec, n_points: int = 40):
    """Sweep a shared clipping range [f*min(x), f*max(x)], f in (0, 1]: the error split.

    Returns (thresholds c = f*max|x|, clip_mse, round_mse), one entry per f. A small c
    clips much (clipping error grows); a large c makes the step coarse (rounding error
    grows); the best range balances the two. Integer scheme only (others have no range).
    """
    x = np.asarray(x)
    fractions = np.linspace(1.0 / n_points, 1.0, n_points)
    xmin, xmax = float(x.min()), float(x.max())
    clip, rnd = np.empty(n_points), np.empty(n_points)
    for i, f in enumerate(fractions):
        manual = spec.replace(estimator="manual", range_min=f * min(xmin, 0.0), range_max=f * max(xmax, 0.0))
        result = quantize(x, manual)
        clip[i], rnd[i] = result.clip_mse, result.round_mse
    return fractions * max(abs(xmin), abs(xmax)), clip, rnd


def histogram(x: np.ndarray, bins: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """(counts, edges) over the finite values: binned on the server, not raw points."""
    finite = np.asarray(x, dtype=np.float64)[np.isfinite(x)]
    if finite.size == 0:
        return np.zeros(0, dtype=int), np.zeros(1)
    return np.histogram(finite, bins=bins)


def grid_levels(x: np.ndarray, result, max_levels: int = MAX_DRAWN_LEVELS) -> tuple[np.ndarray, int]:
    """(levels to draw, how many representable levels are in view) for the first group.

    int: (q - zero_point) * scale for the codes; fixed_point: q * 2**-frac_bits; log and
    kmeans: the codebook; float: the distinct values actually produced. Only levels inside
    the view (data range joined with the clipping range) count; past max_levels none are drawn.
    """
    finite = np.asarray(x, dtype=np.float64)[np.isfinite(x)]
    view_lo = min(finite.min(initial=0.0), float(result.lo[0]))
    view_hi = max(finite.max(initial=0.0), float(result.hi[0]))
    affine = _affine_grid(result)
    if affine is None:
        levels = _table_levels(result)
        levels = levels[(levels >= view_lo) & (levels <= view_hi)]
    else:
        step, zero_point = affine
        first = max(result.spec.qmin, int(np.ceil(view_lo / step)) + zero_point)
        last = min(result.spec.qmax, int(np.floor(view_hi / step)) + zero_point)
        if last - first + 1 > max_levels:
            return np.zeros(0), last - first + 1
        levels = (np.arange(first, last + 1, dtype=np.float64) - zero_point) * step
    return (levels if levels.size <= max_levels else levels[:0]), int(levels.size)


def _affine_grid(result) -> tuple[float, int] | None:
    """(step, zero point) of the first group for int and fixed_point; None for the others."""
    spec = result.spec
    if spec.scheme == "fixed_point":
        return 2.0**-spec.frac_bits, 0
    if spec.scheme != "int" or result.scale is None:
        return None
    step = float(params_to_rows(result.scale, spec.granularity, spec.axis)[0])
    zero_point = (
        0 if result.zero_point is None else int(params_to_rows(result.zero_point, spec.granularity, spec.axis)[0])
    )
    return step, zero_point


def _table_levels(result) -> np.ndarray:
    if result.codebook is not None:
        return np.unique(np.asarray(result.codebook, dtype=np.float64).reshape(len(result.lo), -1)[0])
    return np.unique(np.asarray(result.x_dq, dtype=np.float64))
