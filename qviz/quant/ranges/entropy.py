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
3. The window with the smallest KL gives [-t, t], kept inside the data's [min, max].

Differences from onnxruntime, on purpose: KL is computed in closed form from cumulative
sums (O(nq) per window instead of O(B)), so all windows are scored at once; q is not
truncated to integers; instead of smoothing every zero, a block whose q is 0 where p is
not (all its mass was outliers) gets q = 1e-4 counts there, ORT's smoothing epsilon.
Rows with fewer than B/4 finite values use fewer bins (about 4 per value, at least 2*nq + 1).
With bits >= 11 the histogram cannot resolve the grid (nq > B / 2): min-max is returned.

    >>> x = np.random.default_rng(0).standard_t(3, size=(1, 100_000))
    >>> entropy_range(x, QuantSpec(bits=8))          # clips the heavy tails
"""

from __future__ import annotations

import numpy as np

from .minmax import finite_mask, finite_minmax

BINS = 2047
EPS = 1e-4


def entropy_range(x2d: np.ndarray, spec) -> tuple[np.ndarray, np.ndarray]:
    """Per-row [-t, t] minimizing KL(p || q), kept inside [min, max]."""
    finite = finite_mask(x2d)
    lo, hi = finite_minmax(x2d, finite)
    amax = np.maximum(-lo, hi)
    nq = 2**spec.bits - 1
    t = amax.copy()
    for g in np.flatnonzero(amax > 0):
        row = x2d[g] if finite is None else x2d[g][finite[g]]
        bins = _bins_for(row.size, nq)
        if 2 * nq + 1 <= BINS:
            t[g] = _entropy_threshold(row, amax[g], bins, nq)
    return np.maximum(-t, lo), np.minimum(t, hi)


def _bins_for(n: int, nq: int) -> int:
    """2047, or about 4 bins per value for short rows, never fewer than 2*nq + 1; odd."""
    return min(BINS, max(2 * nq + 1, 4 * n + 1))


def _entropy_threshold(row: np.ndarray, amax: float, bins: int, nq: int) -> float:
    hist = np.histogram(row, bins=bins, range=(-amax, amax))[0].astype(np.float64)
    zero = bins // 2
    half = np.arange(nq // 2, zero + 1)
    kl = window_kl(hist, zero - half, 2 * half + 1, nq)
    best = half[np.argmin(kl)]
    return amax * (2 * best + 1) / bins


def window_kl(hist: np.ndarray, start: np.ndarray, length: np.ndarray, nq: int) -> np.ndarray:
    """KL(p || q) for windows hist[start : start+length] (vectors over windows) -> [W]."""
    total = hist.sum()
    end = start + length
    left = np.cumsum(np.concatenate([[0.0], hist]))
    nonzero = np.cumsum(np.concatenate([[0], hist > 0]))
    plogp = np.cumsum(np.concatenate([[0.0], _xlogx(hist)]))
    # p's two edge bins hold the outliers: correct the window sums for them.
    p_first = hist[start] + left[start]
    p_last = hist[end - 1] + (total - left[end])
    sum_plogp = plogp[end] - plogp[start] - _xlogx(hist[start]) - _xlogx(hist[end - 1]) + _xlogx(p_first) + _xlogx(p_last)
    m = length // nq
    edges = start[:, None] + m[:, None] * np.arange(nq + 1)
    edges[:, -1] = end
    q_block = np.diff(left[edges], axis=1)
    nz_block = np.diff(nonzero[edges], axis=1).astype(np.float64)
    p_block = q_block.copy()
    nz_block[:, 0] += (p_first > 0) & (hist[start] == 0)
    nz_block[:, -1] += (p_last > 0) & (hist[end - 1] == 0)
    p_block[:, 0] += p_first - hist[start]
    p_block[:, -1] += p_last - hist[end - 1]
    empty = (q_block == 0) & (nz_block > 0)
    q_level = np.where(empty, EPS, q_block / np.maximum(nz_block, 1))
    q_total = np.sum(np.where(empty, EPS * nz_block, q_block), axis=1)
    cross = np.sum(np.where(p_block > 0, p_block * np.log(np.maximum(q_level, EPS)), 0.0), axis=1)
    return (sum_plogp - cross) / total - np.log(total) + np.log(q_total)


def _xlogx(x):
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, x * np.log(np.maximum(x, 1e-300)), 0.0)
