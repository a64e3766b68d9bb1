"""K-means (Lloyd) quantization: a per-row codebook of 2**bits levels fitted to the data.

    minimize  sum_i (x_i - c[q_i])^2   over the codebook c and the assignments q

Lloyd's algorithm alternates two steps, each of which can only lower the error:
assign every value to its nearest level, then move every level to the mean of its values.

The rules that make it predictable:
- init = the uniform grid of scheme=int with estimator=minmax at the same bits, signed and
  symmetric: levels (k - zero_point) * scale for k = qmin..qmax (restricted_range aside).
  The first assignment is then int quantization with nearest rounding, so the result is
  never worse than uniform min-max (tested); k-means only improves on it. The init is
  deterministic: spec.seed is not used.
- a level with no values (e.g. the negative half of a symmetric grid on ReLU outputs) is
  moved to split the cluster with the largest error (at mean + std/2); an unused level can
  move anywhere without raising the error, so the error still never increases.
- stops when no level moves by more than 1e-7 of the row's range, or after MAX_ITER rounds.
- ties: a value exactly half-way between two levels takes the upper one.

Speed: in 1-D the clusters are intervals of the sorted values. Each row is sorted once;
with cumulative sums of the values, a Lloyd round is K binary searches and K subtractions
per row, O(K log n) instead of O(n K). All rows are searched together in one sorted array
(each row's values scaled to [0, 1] and shifted by 3 * row).

q holds indices into codebook[row] (ascending levels, [G, 2**bits]). Non-finite values are
left out of the fit; as in scheme=int, +Inf takes the top level and -Inf and NaN the bottom.
"""

from __future__ import annotations

import numpy as np

from qviz.quant.granularity import from_groups, to_groups
from qviz.quant.qparams import qparams_from_range
from qviz.quant.ranges.minmax import finite_minmax
from qviz.quant.result import QuantResult, make_result
from qviz.quant.spec import QuantSpec

MAX_ITER = 300
TOL = 1e-7


def uniform_grid(lo: np.ndarray, hi: np.ndarray, bits: int, signed: bool, symmetric: bool) -> np.ndarray:
    """The 2**bits levels [G, 2**bits] of the min-max int quantizer for ranges [lo, hi]."""
    qmin, qmax = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    scale, zero_point = qparams_from_range(lo, hi, qmin, qmax, symmetric)
    codes = np.arange(qmin, qmax + 1)
    return (codes[None, :] - zero_point[:, None]) * scale.astype(np.float64)[:, None]


class _SortedRows:
    """The finite values of each row, sorted, with prefix sums; searchable for all rows at once."""

    def __init__(self, x2d: np.ndarray, lo: np.ndarray, hi: np.ndarray):
        finite = np.isfinite(x2d)
        self.n, self.lo = x2d.shape[1], lo
        self.width = np.where(hi > lo, hi - lo, 1.0)
        # NOTE: non-finite values sort to the end of their row as +inf, then sit at hi with
        # weight 0, so they change no sum.
        values = np.sort(np.where(finite, x2d, np.inf), axis=1)
        weights = np.isfinite(values)
        values = np.where(weights, values, hi[:, None]).astype(np.float64)
        weights = weights.astype(np.float64)
        self.keys = self.key(values).ravel()
        self.count = _prefix(weights)
        self.total = _prefix(weights * values)
        self.square = _prefix(weights * values**2)

    def key(self, v: np.ndarray) -> np.ndarray:
        """Row-local position in [0, 1] (clipped to [-0.5, 1.5]) plus 3 * row: globally sorted."""
        rows = np.arange(len(self.lo))[:, None]
        key: np.ndarray = np.clip((v - self.lo[:, None]) / self.width[:, None], -0.5, 1.5) + 3.0 * rows
        return key

    def cluster_sums(self, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(count, sum, sum of squares) [G, K] of the values nearest to each level."""
        mids = self.key((levels[:, 1:] + levels[:, :-1]) / 2)
        inner = np.searchsorted(self.keys, mids.ravel(), side="left").reshape(mids.shape)
        starts = (np.arange(len(levels)) * self.n)[:, None]
        edges = np.concatenate([starts, inner, starts + self.n], axis=1)
        count, total, square = (np.diff(p[edges], axis=1) for p in (self.count, self.total, self.square))
        return count, total, square


def _prefix(a: np.ndarray) -> np.ndarray:
    """Prefix sums of all rows, flattened, with a leading 0: sum of a.flat[i:j] = p[j] - p[i]."""
    return np.concatenate([[0.0], np.cumsum(a, axis=None)])


def lloyd(rows: _SortedRows, levels: np.ndarray, max_iter: int = MAX_ITER) -> tuple[np.ndarray, int]:
    """Run Lloyd rounds from `levels` [G, K] until nothing moves; (levels, rounds run)."""
    tol = TOL * rows.width[:, None]
    for step in range(1, max_iter + 1):  # noqa: B007 - the round count is returned after the loop
        count, total, square = rows.cluster_sums(levels)
        new = np.where(count > 0, total / np.maximum(count, 1), levels)
        new = np.sort(_reseed_unused(new, count, total, square), axis=1)
        moved = np.abs(new - levels).max(axis=1, initial=0.0)
        levels = new
        if np.all(moved <= tol[:, 0]):
            break
    return levels, step


def _reseed_unused(levels: np.ndarray, count: np.ndarray, total: np.ndarray, square: np.ndarray) -> np.ndarray:
    """Move one unused level per row to mean + std/2 of the cluster with the largest error."""
    mean = total / np.maximum(count, 1)
    sse = np.maximum(square - total * mean, 0.0)
    worst = np.argmax(sse, axis=1)
    rows = np.flatnonzero((count == 0).any(axis=1) & (sse.max(axis=1) > 0))
    if rows.size == 0:
        return levels
    unused = np.argmax(count[rows] == 0, axis=1)
    std = np.sqrt(sse[rows, worst[rows]] / count[rows, worst[rows]])
    levels = levels.copy()
    levels[rows, unused] = mean[rows, worst[rows]] + std / 2
    return levels


def nearest_indices(rows: _SortedRows, x2d: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Index [G, N] of the nearest level (ties up); +Inf -> top, -Inf and NaN -> 0."""
    k = levels.shape[1]
    mids = rows.key((levels[:, 1:] + levels[:, :-1]) / 2).ravel()
    keys = rows.key(np.nan_to_num(x2d.astype(np.float64), nan=-np.inf, posinf=np.inf, neginf=-np.inf))
    index = np.searchsorted(mids, keys.ravel(), side="right").reshape(x2d.shape)
    index -= (np.arange(len(levels)) * (k - 1))[:, None]
    return index.astype(np.int32)


def quantize_kmeans(x: np.ndarray, spec: QuantSpec) -> QuantResult:
    """K-means codebook quantization of x (see the module docstring); q = codebook indices."""
    x2d = to_groups(x, spec.granularity, spec.axis, spec.group_size)
    lo, hi = finite_minmax(x2d, np.isfinite(x2d))
    rows = _SortedRows(x2d, lo, hi)
    codebook, rounds = lloyd(rows, uniform_grid(lo, hi, spec.bits, spec.signed, spec.symmetric))
    q2d = nearest_indices(rows, x2d, codebook)
    dtype = np.float64 if x.dtype == np.float64 else np.float32
    x_dq = from_groups(
        np.take_along_axis(codebook, q2d, axis=1).astype(dtype), x.shape, spec.granularity, spec.axis, spec.group_size
    )
    q = from_groups(q2d, x.shape, spec.granularity, spec.axis, spec.group_size)
    # NOTE: a codebook has no clipping range: every value takes its nearest level, and one beyond
    # the end levels is as near to them as the data lets it be. Its range (lo, hi) is the data's
    # own, so nothing counts as clipped (with the end levels as the range, every zero of ReLU data
    # below a lowest level of 0.0075 counted as "clipped": 52 % at 3 bits).
    return make_result(spec, x, x_dq, lo, hi, q=q, codebook=codebook, extra={"lloyd_rounds": rounds})
