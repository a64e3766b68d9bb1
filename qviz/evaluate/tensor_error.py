"""mse, SQNR and cosine of a whole tensor against its reference, in cache-sized float64 chunks.

The per-layer error table compares every layer output of 32 samples twice (local, propagated):
on a DenseNet-121 about 3 GB of float32. `qviz.quant.metrics.summary` computes every metric with
whole-tensor float64 temporaries (about ten arrays of the tensor's size each, half the table's
time); here each chunk of CHUNK values is converted once and reduced with dot products:

    signal = sum(x^2)   noise = sum((x - x_dq)^2)   dot = sum(x * x_dq)   dq2 = sum(x_dq^2)
    mse = noise / n     sqnr_db = 10 log10(signal / noise)     cosine = dot / sqrt(signal * dq2)

with summary's rules (no noise: +inf dB; cosine 1 for two zero tensors, 0 for one). Sums of
squares of float32/float16 values cannot overflow float64 (at most 3.4e38 squared), so the
scaling summary does first is not needed; a float64 tensor or any non-finite value goes to
summary itself (its rules for Inf/NaN).

    >>> r = error_summary([1.0, -1.0], [1.0, -0.9])
    >>> round(r["sqnr_db"], 6), round(r["mse"], 6)       # 10*log10(2 / 0.01); 0.01 / 2
    (23.0103, 0.005)
"""

from __future__ import annotations

import math

import numpy as np

from qviz.quant.metrics import summary

CHUNK = 1 << 16  # values per chunk: its float64 copies stay in the L2 cache


def error_summary(x, x_dq) -> dict[str, float]:
    """{"mse", "sqnr_db", "cosine_similarity"} of x_dq against x (module doc)."""
    x, x_dq = np.asarray(x), np.asarray(x_dq)
    if x.shape != x_dq.shape:
        raise ValueError(f"x and x_dq must have the same shape; got {x.shape} and {x_dq.shape}")
    if x.dtype == np.float64 or x_dq.dtype == np.float64:
        return _from_summary(x, x_dq)
    a, b = x.reshape(-1), x_dq.reshape(-1)
    signal = noise = dot = dq2 = 0.0
    for i in range(0, a.size, CHUNK):
        u = a[i : i + CHUNK].astype(np.float64)
        v = b[i : i + CHUNK].astype(np.float64)
        s, q, d = _dot(u, u), _dot(v, v), _dot(u, v)
        if not math.isfinite(s + q):  # an Inf or NaN (or an overflow): summary's rules
            return _from_summary(x, x_dq)
        e = np.subtract(u, v, out=u)
        signal, dq2, dot, noise = signal + s, dq2 + q, dot + d, noise + _dot(e, e)
    return {
        "mse": noise / max(a.size, 1),
        "sqnr_db": sqnr_from_sums(signal, noise),
        "cosine_similarity": cosine_from_sums(signal, dq2, dot),
    }


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """sum(a * b) without a temporary.

    # NOTE: not `a @ b`: that is BLAS, whose threads wait for each other on a busy machine
    # (measured 88 s for DenseNet-121's table with 2 cores shared, against 2 s for einsum)."""
    return float(np.einsum("i,i->", a, b))


def _from_summary(x, x_dq) -> dict[str, float]:
    s = summary(x, x_dq)
    return {k: s[k] for k in ("mse", "sqnr_db", "cosine_similarity")}


def sqnr_from_sums(signal: float, noise: float) -> float:
    """10 log10(signal / noise); +inf without noise, -inf without signal (summary's rules)."""
    if noise == 0:
        return math.inf
    return 10.0 * math.log10(signal / noise) if signal > 0 else -math.inf


def cosine_from_sums(xx: float, qq: float, dot: float) -> float:
    """dot / sqrt(xx qq); 1 for two zero tensors, 0 for one (summary's rules)."""
    if xx == 0 and qq == 0:
        return 1.0
    norms = math.sqrt(xx * qq)
    return min(1.0, max(-1.0, dot / norms)) if norms > 0 else 0.0
