"""Entropy (KL-divergence) range, as TensorRT's calibrator and onnxruntime's
`HistogramCalibrater(method="entropy")` (`calibrate.py`, `get_entropy_threshold`) choose it.

1. Histogram each row over [-T, T], T = max |x|, in B = 2047 bins (odd: the middle bin is
   centred on 0, so every window below is exactly symmetric).
2. For each window of 2i+1 middle bins (i >= nq // 2, nq = 2**bits - 1 quantized levels):
   p = the window's counts, with the counts outside it added to its first / last bin
       (clipping moves outliers to the edge);
   q = the window's counts *without* the outliers, merged into nq blocks of
       m = (2i+1) // nq bins (the last block takes the remainder), each block's sum spread
       evenly over the bins where p is non-zero (0 elsewhere);
   KL(p || q) on the normalized distributions.
3. The window with the smallest KL gives [-t, t], kept inside the data's [min, max]. Windows
   (~900 widths at 8 bits) are all scored while rows * widths * levels stays within
   WORK_BUDGET (2**24: always per-tensor); beyond it (e.g. per-channel at 8 bits) every
   stride-th width is scored, then every width within one stride of the best. That is an
   approximation: the KL curve has small local minima, so the result can differ a little.

Differences from onnxruntime, on purpose: KL is computed in closed form from cumulative
sums (O(nq) per window instead of O(B)), vectorized over windows and rows; q is not
truncated to integers and is 0 where p is 0 (TensorRT / MXNet; onnxruntime spreads q over
those bins too); instead of smoothing every zero, a block whose q is 0 where p is not (all
its mass was outliers) gets q = 1e-4 counts there, onnxruntime's smoothing epsilon.
Rows with fewer than B/4 finite values use fewer bins (about 4 per value, at least 2*nq + 1);
rows with fewer than 4 values per level (count < 4 * nq: e.g. groups of 32 at 4 bits) and
bits >= 11 (nq > B / 2: the histogram cannot resolve the grid) keep min-max.

    >>> from qviz.quant import QuantSpec
    >>> x = np.random.default_rng(0).standard_t(3, size=(1, 100_000))   # heavy tails
    >>> lo, hi = entropy_range(x, QuantSpec(bits=8))
    >>> round(float(hi[0]), 1), round(float(np.abs(x).max()), 1)        # clips them: t < max |x|
    (26.7, 75.3)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qviz.quant.ranges.minmax import finite_mask, finite_minmax
from qviz.quant.spec import QuantSpec

BINS = 2047
EPS = 1e-4
BLOCK_ELEMENTS = 1 << 20  # rows * windows * nq per vectorized KL step
WORK_BUDGET = 1 << 24  # rows * windows * (nq + 1) scored in full; above it, a strided search
MIN_VALUES_PER_LEVEL = 4  # sparser rows keep min-max (their histogram says nothing about KL)


def entropy_range(x2d: np.ndarray, spec: QuantSpec) -> tuple[np.ndarray, np.ndarray]:
    """Per-row [-t, t] minimizing KL(p || q), kept inside [min, max]."""
    finite = finite_mask(x2d)
    lo, hi = finite_minmax(x2d, finite)
    amax = np.maximum(-lo, hi)
    nq = 2**spec.bits - 1
    t = amax.copy()
    if 2 * nq + 1 > BINS:
        return lo, hi
    count = np.full(x2d.shape[0], x2d.shape[1]) if finite is None else finite.sum(axis=1)
    bins = np.minimum(BINS, np.maximum(2 * nq + 1, 4 * count + 1))
    todo = (amax > 0) & (count >= MIN_VALUES_PER_LEVEL * nq)
    # Rows with the same bin count (usually all of them) are handled together.
    for b in np.unique(bins[todo]):
        rows = np.flatnonzero((bins == b) & todo)
        hist = _row_histograms(x2d[rows], None if finite is None else finite[rows], amax[rows], int(b))
        t[rows] = amax[rows] * _best_window(hist, nq) / b
    return np.maximum(-t, lo), np.minimum(t, hi)


def _row_histograms(x2d: np.ndarray, finite: np.ndarray | None, amax: np.ndarray, bins: int) -> np.ndarray:
    """Counts [G, bins] of each row's finite values over [-amax, amax] (as np.histogram)."""
    rows = x2d.shape[0]
    x = x2d.astype(np.float64) if finite is None else np.where(finite, x2d, 0.0)
    idx = np.floor((x + amax[:, None]) * (bins / (2 * amax))[:, None])
    np.clip(idx, 0, bins - 1, out=idx)
    idx = (idx.astype(np.int64) + (np.arange(rows) * bins)[:, None]).ravel()
    weights = None if finite is None else finite.ravel().astype(np.float64)
    counts: np.ndarray = np.bincount(idx, weights=weights, minlength=rows * bins)  # numpy types it Any here
    return counts.reshape(rows, bins).astype(np.float64)


def _best_window(hist: np.ndarray, nq: int) -> np.ndarray:
    """Width 2i+1 (in bins) of the min-KL window of each row of hist [G, B]: coarse, then fine."""
    zero = hist.shape[1] // 2
    half = np.arange(nq // 2, zero + 1)
    stride = max(1, -(-hist.shape[0] * len(half) * (nq + 1) // WORK_BUDGET))
    coarse = np.broadcast_to(half[::stride], (hist.shape[0], len(half[::stride])))
    best: np.ndarray = coarse[np.arange(len(coarse)), np.argmin(_blocked_kl(hist, coarse, nq), axis=1)]
    fine = np.clip(best[:, None] + np.arange(-stride + 1, stride), half[0], half[-1])
    best = fine[np.arange(len(fine)), np.argmin(_blocked_kl(hist, fine, nq), axis=1)]
    return 2 * best + 1


def _blocked_kl(hist: np.ndarray, half: np.ndarray, nq: int) -> np.ndarray:
    """window_kl for half-widths half [G, W], a block of rows at a time (bounded memory)."""
    zero = hist.shape[1] // 2
    step = max(1, BLOCK_ELEMENTS // (half.shape[1] * (nq + 1)))
    return np.concatenate(
        [
            window_kl(hist[r : r + step], zero - half[r : r + step], 2 * half[r : r + step] + 1, nq)
            for r in range(0, hist.shape[0], step)
        ]
    )


def window_kl(hist: np.ndarray, start: np.ndarray, length: np.ndarray, nq: int) -> np.ndarray:
    """KL(p || q) of windows hist[g, start : start+length] -> [G, W].

    hist [G, B] (or [B]: then the result is [W]); start, length [W] (shared) or [G, W].
    """
    h = np.atleast_2d(hist).astype(np.float64)
    start, length = (np.broadcast_to(np.asarray(a), (h.shape[0], np.shape(a)[-1])) for a in (start, length))
    total = h.sum(axis=1, keepdims=True)
    end = start + length
    left, nonzero, plogp = _prefix(h), _prefix(h > 0), _prefix(_xlogx(h))
    # p's two edge bins also hold the outliers: correct the window sums for them.
    first, last = _take(h, start), _take(h, end - 1)
    p_first = first + _take(left, start)
    p_last = last + (total - _take(left, end))
    sum_plogp = (
        _take(plogp, end) - _take(plogp, start) - _xlogx(first) - _xlogx(last) + _xlogx(p_first) + _xlogx(p_last)
    )
    edges = start[..., None] + (length // nq)[..., None] * np.arange(nq + 1)
    edges[..., -1] = end
    q_block = np.diff(_take(left, edges), axis=2)  # [G, W, nq]
    nz_block = np.diff(_take(nonzero, edges), axis=2)
    p_block = q_block.copy()
    nz_block[:, :, 0] += (p_first > 0) & (first == 0)
    nz_block[:, :, -1] += (p_last > 0) & (last == 0)
    p_block[:, :, 0] += p_first - first
    p_block[:, :, -1] += p_last - last
    empty = (q_block == 0) & (nz_block > 0)
    q_level = np.where(empty, EPS, q_block / np.maximum(nz_block, 1))
    q_total = np.sum(np.where(empty, EPS * nz_block, q_block), axis=2)
    cross = np.sum(np.where(p_block > 0, p_block * np.log(np.maximum(q_level, EPS)), 0.0), axis=2)
    kl: np.ndarray = (sum_plogp - cross) / total - np.log(total) + np.log(q_total)
    return kl[0] if np.ndim(hist) == 1 else kl


def _take(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """a[g, idx[g, ...]] for every row g (idx of any trailing shape)."""
    return np.take_along_axis(a, idx.reshape(len(idx), -1), axis=1).reshape(idx.shape)


def _prefix(a: np.ndarray) -> np.ndarray:
    """Prefix sums along the last axis with a leading 0: sum of a[..., i:j] = p[..., j] - p[..., i]."""
    return np.concatenate([np.zeros((*a.shape[:-1], 1)), np.cumsum(a, axis=-1, dtype=np.float64)], axis=-1)


def _xlogx(x: npt.ArrayLike) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, x * np.log(np.maximum(x, 1e-300)), 0.0)
