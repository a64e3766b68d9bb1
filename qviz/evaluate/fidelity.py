"""Fidelity: how close the quantized outputs are to the float outputs on the same inputs (no labels).

    agreement      mean(argmax(float) == argmax(quant))           1 = same decisions
    sqnr_db        10 log10(sum f^2 / sum (f - q)^2) over all outputs   (qviz.quant.metrics)
    cosine         <f, q> / (|f| |q|) over all outputs
    kl             mean over samples of KL(softmax(f) || softmax(q)) in nats, on the last axis

Rules: outputs are flattened per model output and joined; NaN never comes out (see
qviz.quant.metrics: no noise -> sqnr +inf). Softmax is computed in float64 after subtracting
the row max; a zero probability under q where p > 0 is floored at 1e-12 (KL stays finite).

    >>> fidelity(np.array([[2.0, 0.0]]), np.array([[2.0, 0.0]]))["kl"]
    0.0
"""

from __future__ import annotations

import numpy as np

from qviz.evaluate.accuracy import predictions
from qviz.quant import metrics

FLOOR = 1e-12
FIDELITY_METRICS = ("agreement", "sqnr_db", "cosine", "kl")


def softmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def kl_softmax(f: np.ndarray, q: np.ndarray) -> float:
    """Mean KL(softmax(f) || softmax(q)) over all rows of the last axis (nats)."""
    p, r = softmax(f), softmax(q)
    kl = np.sum(p * (np.log(np.maximum(p, FLOOR)) - np.log(np.maximum(r, FLOOR))), axis=-1)
    return float(np.mean(np.maximum(kl, 0.0))) if kl.size else 0.0


def fidelity(f: np.ndarray, q: np.ndarray) -> dict[str, float]:
    """All fidelity metrics of one output pair (float f, quantized q), as plain floats."""
    f, q = np.asarray(f), np.asarray(q)
    s = metrics.summary(f.astype(np.float32), q.astype(np.float32))
    agree = float(np.mean(predictions(f) == predictions(q))) if f.ndim >= 2 and len(f) else 1.0
    return {"agreement": agree, "sqnr_db": s["sqnr_db"], "cosine": s["cosine_similarity"], "kl": kl_softmax(f, q)}


def fidelity_all(fs: list[np.ndarray], qs: list[np.ndarray]) -> dict[str, float]:
    """Fidelity over several model outputs: agreement and KL of the first, SQNR/cosine of all joined."""
    out = fidelity(fs[0], qs[0])
    if len(fs) > 1:
        joined = metrics.summary(
            np.concatenate([np.ravel(x).astype(np.float32) for x in fs]),
            np.concatenate([np.ravel(x).astype(np.float32) for x in qs]),
        )
        out.update(sqnr_db=joined["sqnr_db"], cosine=joined["cosine_similarity"])
    return out
