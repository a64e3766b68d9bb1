"""Error metrics between a tensor x and its quantized version x_dq.

    mse                mean((x - x_dq)^2)
    rmse               sqrt(mse)
    max_abs_error      max |x - x_dq|
    sqnr_db            10 * log10(sum(x^2) / sum((x - x_dq)^2))     signal-to-quantization-noise
    cosine_similarity  <x, x_dq> / (|x| |x_dq|)

Rules (never NaN):
- positions where x is not finite are left out of every metric (there is no meaningful
  error there), the same rule as QuantResult's statistics; where x is finite but x_dq is not
  (an overflow to Inf), the error is infinite and the metrics say so (mse = inf,
  sqnr_db = -inf, cosine_similarity = 0);
- no error at all: sqnr_db = +inf (also for an all-zero or empty x), mse = 0;
- zero signal with an error: sqnr_db = -inf;
- cosine_similarity: 1.0 when both vectors are zero (or empty), 0.0 when exactly one is;
- sums run in float64 on rows scaled to a largest magnitude of 1 (no overflow in sqnr or
  cosine); mse itself is inf only if the true value exceeds float64 (errors beyond 1e154).

    >>> sqnr_db([1.0, -1.0], [1.0, -0.9])       # 10*log10(2 / 0.01)
    23.010299956639813
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qviz.quant.granularity import normalize_axis

METRICS = ("mse", "rmse", "max_abs_error", "sqnr_db", "cosine_similarity")


def row_metrics(x2d: np.ndarray, dq2d: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric for each row of x2d / dq2d [G, N] -> {name: float64 [G]}, plus count."""
    x = np.asarray(x2d, dtype=np.float64)
    dq = np.asarray(dq2d, dtype=np.float64)
    keep = np.isfinite(x)
    count = keep.sum(axis=1)
    x = np.where(keep, x, 0.0)
    bad = ~np.isfinite(dq) & keep  # x finite, x_dq not: an infinite error
    dq = np.where(keep & ~bad, dq, 0.0)
    # NOTE: every row is divided by its largest magnitude first, so sums of squares of
    # float64 values near 1e200 do not overflow (sqnr and cosine are scale-free).
    top = np.maximum(np.max(np.abs(x), axis=1, initial=0.0), np.max(np.abs(dq), axis=1, initial=0.0))
    top = np.where(top > 0, top, 1.0)
    x, dq = x / top[:, None], dq / top[:, None]
    err = x - dq
    signal, noise = np.sum(x * x, axis=1), np.sum(err * err, axis=1)
    infinite = bad.any(axis=1)
    with np.errstate(over="ignore"):
        mse = np.where(infinite, np.inf, noise * top * top / np.maximum(count, 1))
        max_err = np.where(infinite, np.inf, np.max(np.abs(err), axis=1, initial=0.0) * top)
    return {
        "mse": mse,
        "rmse": np.sqrt(mse),
        "max_abs_error": max_err,
        "sqnr_db": np.where(infinite, -np.inf, _sqnr_db(signal, noise)),
        "cosine_similarity": np.where(infinite, 0.0, _cosine(x, dq)),
        "count": count,
    }


def _sqnr_db(signal: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """10*log10(signal / noise); +inf without noise, -inf without signal (never NaN)."""
    with np.errstate(divide="ignore"):
        ratio = signal / np.where(noise == 0, 1.0, noise)
        return np.where(noise == 0, np.inf, 10.0 * np.log10(ratio))


def _cosine(x: np.ndarray, dq: np.ndarray) -> np.ndarray:
    """<x, dq> / (|x| |dq|); 1 for two zero rows, 0 when exactly one is zero."""
    dot = np.sum(x * dq, axis=1)
    # NOTE: sqrt(|x|² |dq|²), not |x| * |dq|: for dq == x it is sqrt(dot²) == dot exactly (IEEE), so
    # identical outputs give exactly 1.0 (the product of two rounded roots missed it by 1 ulp on AVX-512).
    # Rows are scaled to a largest magnitude of 1, so the product neither overflows nor underflows.
    norms = np.sqrt(np.sum(x * x, axis=1) * np.sum(dq * dq, axis=1))
    both_zero = ~np.any(x, axis=1) & ~np.any(dq, axis=1)
    cos = np.divide(dot, norms, out=np.zeros_like(dot), where=norms > 0)
    return np.where(both_zero, 1.0, np.clip(cos, -1.0, 1.0))


def _flat(x: npt.ArrayLike, x_dq: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x, x_dq = np.asarray(x), np.asarray(x_dq)
    if x.shape != x_dq.shape:
        raise ValueError(f"x and x_dq must have the same shape; got {x.shape} and {x_dq.shape}")
    return x.reshape(1, -1), x_dq.reshape(1, -1)


def summary(x: npt.ArrayLike, x_dq: npt.ArrayLike) -> dict[str, float]:
    """All metrics of the whole tensor as plain floats, plus `count` (finite values of x)."""
    return {name: float(v[0]) if name != "count" else int(v[0]) for name, v in row_metrics(*_flat(x, x_dq)).items()}


def mse(x: npt.ArrayLike, x_dq: npt.ArrayLike) -> float:
    return summary(x, x_dq)["mse"]


def rmse(x: npt.ArrayLike, x_dq: npt.ArrayLike) -> float:
    return summary(x, x_dq)["rmse"]


def max_abs_error(x: npt.ArrayLike, x_dq: npt.ArrayLike) -> float:
    return summary(x, x_dq)["max_abs_error"]


def sqnr_db(x: npt.ArrayLike, x_dq: npt.ArrayLike) -> float:
    return summary(x, x_dq)["sqnr_db"]


def cosine_similarity(x: npt.ArrayLike, x_dq: npt.ArrayLike) -> float:
    return summary(x, x_dq)["cosine_similarity"]


def per_channel_metrics(x: npt.ArrayLike, x_dq: npt.ArrayLike, axis: int = 0) -> dict[str, np.ndarray]:
    """Metrics of each slice along `axis` -> {name: float64 [x.shape[axis]]} plus `channel`."""
    x, x_dq = np.asarray(x), np.asarray(x_dq)
    if x.shape != x_dq.shape:
        raise ValueError(f"x and x_dq must have the same shape; got {x.shape} and {x_dq.shape}")
    axis = normalize_axis(axis, x.ndim)
    rows = x.shape[axis]
    result = row_metrics(np.moveaxis(x, axis, 0).reshape(rows, -1), np.moveaxis(x_dq, axis, 0).reshape(rows, -1))
    return {"channel": np.arange(rows), **result}
