"""MSE range: the clipping range whose int quantization error is smallest.

Candidates shrink the min-max range toward zero by a ratio r (both ends together):

    [lo_r, hi_r] = [r * min(lo, 0), r * max(hi, 0)],   r in {1, 31/32, ..., 1/32}

then two rounds of 8 ratios between the best ratio's neighbours refine it (48 scored
candidates, resolution about 0.0015 of the min-max range). Each candidate is
scored with the int quantizer's own rules (qparams_from_range: zero inside the range,
symmetric, pow2_scale; round_values with spec.rounding; clip to [qmin, qmax]), so the
error minimized is the error `scheme=int` will produce.

How it stays fast (1M values per-tensor in well under 0.5 s): a row longer than
EXACT_MAX_N is first summarized by a 4096-bin histogram that keeps each bin's count and
mean; a candidate's error is sum(count * (mean - dq(mean))^2), which is exact for every
bin that lies inside one rounding cell (the within-bin variance is the same for all
candidates). Shorter rows are scored exactly, value by value.

# NOTE: never worse than min-max. r = 1 is min-max and is candidate 0, kept unless another
# candidate is better by a relative MARGIN (scoring runs in float64, the quantizer divides in
# float32: they can differ on exact ties); for histogram rows the winner is re-scored
# exactly on all values and min-max is kept where it is not better by MARGIN.
# NOTE: rounding=stochastic is scored with round-half-even (its expected error has the
# same minimizer up to noise); non-finite values are ignored.
"""

from __future__ import annotations

import numpy as np

from qviz.quant.qparams import qparams_from_range
from qviz.quant.ranges.minmax import finite_mask, finite_minmax
from qviz.quant.rounding import round_values
from qviz.quant.spec import QuantSpec

EXACT_MAX_N = 4096  # rows up to this length are scored value by value
HIST_BINS = 4096  # summary bins for longer rows
COARSE = 32  # coarse ratios 1, 31/32, ..., 1/32
REFINE = 8  # ratios between the best ratio's neighbours, per refinement round
REFINE_ROUNDS = 2  # final resolution (2/9)**2 / 32 ~ 0.0015 of the min-max range
CHUNK_ELEMENTS = 1 << 17  # rows * candidates * points per scoring step (1 MB of float64)
MARGIN = 1e-6  # relative gain needed to leave min-max (float32 vs float64 ties)


def mse_range(x2d: np.ndarray, spec: QuantSpec) -> tuple[np.ndarray, np.ndarray]:
    """Per-row clipping range minimizing the int quantization MSE (see module docstring)."""
    finite = finite_mask(x2d)
    lo, hi = finite_minmax(x2d, finite)
    points, counts = _summarize(x2d, finite, lo, hi)
    coarse = np.broadcast_to(np.arange(COARSE, 0, -1) / COARSE, (x2d.shape[0], COARSE))
    ratio = _best_ratio(points, counts, lo, hi, coarse, spec)
    step = 1.0 / COARSE
    for _ in range(REFINE_ROUNDS):
        fine = np.clip(ratio[:, None] + np.linspace(-step, step, REFINE + 2)[1:-1], 1.0 / (4 * COARSE), 1.0)
        ratio = _best_ratio(points, counts, lo, hi, np.concatenate([ratio[:, None], fine], axis=1), spec)
        step = 2 * step / (REFINE + 1)
    if x2d.shape[1] > EXACT_MAX_N:
        ratio = _keep_if_better(x2d, finite, lo, hi, ratio, spec)
    return _clip_range(lo, hi, ratio)


def _clip_range(lo: np.ndarray, hi: np.ndarray, ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[r*min(lo,0), r*max(hi,0)] kept inside [lo, hi] (same qparams, reads as a data range)."""
    return np.maximum(ratio * np.minimum(lo, 0.0), lo), np.minimum(ratio * np.maximum(hi, 0.0), hi)


def _summarize(
    x2d: np.ndarray, finite: np.ndarray | None, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(points [G, M], counts [G, M]): the values themselves, or histogram bin means."""
    if x2d.shape[1] <= EXACT_MAX_N:
        counts = np.ones(x2d.shape) if finite is None else finite.astype(np.float64)
        return (x2d.astype(np.float64) if finite is None else np.where(finite, x2d, 0.0)), counts
    return _histogram_points(x2d, finite, lo, hi)


def _histogram_points(
    x2d: np.ndarray, finite: np.ndarray | None, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row HIST_BINS-bin histogram over [lo, hi]: (bin means, or centres if empty; counts)."""
    rows = x2d.shape[0]
    # Non-finite values become 0 with weight 0: they land in some bin but add nothing.
    values = x2d.astype(np.float64) if finite is None else np.where(finite, x2d, 0.0)
    weights = None if finite is None else finite.ravel().astype(np.float64)
    width = np.where(hi > lo, hi - lo, 1.0) / HIST_BINS
    idx = np.floor((values - lo[:, None]) / width[:, None])
    np.clip(idx, 0, HIST_BINS - 1, out=idx)
    idx = (idx.astype(np.int64) + (np.arange(rows) * HIST_BINS)[:, None]).ravel()
    values = values.ravel()
    counts = np.bincount(idx, weights=weights, minlength=rows * HIST_BINS).reshape(rows, HIST_BINS)
    sums = np.bincount(idx, weights=values, minlength=rows * HIST_BINS).reshape(rows, HIST_BINS)
    centers = lo[:, None] + (np.arange(HIST_BINS) + 0.5) * width[:, None]
    points = np.divide(sums, counts, out=centers, where=counts > 0)
    return points, counts


def _best_ratio(
    points: np.ndarray, counts: np.ndarray, lo: np.ndarray, hi: np.ndarray, ratios: np.ndarray, spec: QuantSpec
) -> np.ndarray:
    """The ratio (per row) with the smallest error; ratios[:, 0] unless another beats it by MARGIN."""
    err = _candidate_errors(points, counts, lo, hi, ratios, spec)
    best = np.argmin(err, axis=1)
    rows = np.arange(len(ratios))
    best = np.where(err[rows, best] < err[:, 0] * (1 - MARGIN), best, 0)
    return ratios[rows, best]


def _candidate_errors(
    points: np.ndarray, counts: np.ndarray, lo: np.ndarray, hi: np.ndarray, ratios: np.ndarray, spec: QuantSpec
) -> np.ndarray:
    """Sum of count * (point - dq(point))^2 for every row and ratio -> [G, C]."""
    rows, m = points.shape
    err = np.empty(ratios.shape)
    # NOTE: blocks of about CHUNK_ELEMENTS stay in the L2 cache; whole-array passes over
    # [G, C, M] temporaries were memory bound and 5x slower.
    row_step = max(1, CHUNK_ELEMENTS // max(m, 1))
    cand_step = max(1, CHUNK_ELEMENTS // max(row_step * m, 1))
    for r0 in range(0, rows, row_step):
        p, w = points[r0 : r0 + row_step, None, :], counts[r0 : r0 + row_step]
        for c0 in range(0, ratios.shape[1], cand_step):
            r = ratios[r0 : r0 + row_step, c0 : c0 + cand_step]
            dq = fake_quant_range(p, lo[r0 : r0 + row_step, None] * r, hi[r0 : r0 + row_step, None] * r, spec)
            dq -= p
            np.square(dq, out=dq)
            err[r0 : r0 + row_step, c0 : c0 + cand_step] = np.einsum("gcm,gm->gc", dq, w)
    return err


def fake_quant_range(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, spec: QuantSpec) -> np.ndarray:
    """Quantize-dequantize x [G, C, M] with ranges lo, hi [G, C], as scheme=int does."""
    scale32, zero_point = qparams_from_range(lo, hi, spec.qmin, spec.qmax, spec.symmetric, spec.pow2_scale)
    scale = scale32.astype(np.float64)[..., None]
    zero_point = zero_point[..., None]
    mode = "half_even" if spec.rounding == "stochastic" else spec.rounding
    q = round_values(x / scale, mode) + zero_point
    np.clip(q, spec.qmin, spec.qmax, out=q)
    return (q - zero_point) * scale


def _keep_if_better(
    x2d: np.ndarray, finite: np.ndarray | None, lo: np.ndarray, hi: np.ndarray, ratio: np.ndarray, spec: QuantSpec
) -> np.ndarray:
    """Exact full-data check: keep ratio 1 (min-max) wherever the winner is not better by MARGIN."""
    ratios = np.stack([np.ones_like(ratio), ratio], axis=1)
    err = np.zeros(ratios.shape)
    step = max(1, CHUNK_ELEMENTS // 2)
    for c0 in range(0, x2d.shape[1], step):
        block = x2d[:, c0 : c0 + step]
        # Non-finite values become 0, which every candidate reproduces exactly (error 0).
        points = block.astype(np.float64) if finite is None else np.where(finite[:, c0 : c0 + step], block, 0.0)
        err += _candidate_errors(points, np.ones(points.shape), lo, hi, ratios, spec)
    return np.where(err[:, 1] < err[:, 0] * (1 - MARGIN), ratio, 1.0)
