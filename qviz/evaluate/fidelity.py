"""Fidelity: how close the quantized outputs are to the float outputs on the same inputs (no labels).

    agreement      mean over every decision position of (decision(float) == decision(quant))
    sqnr_db        10 log10(sum f^2 / sum (f - q)^2) over all outputs   (qviz.quant.metrics)
    cosine         <f, q> / (|f| |q|) over all outputs
    kl             mean over every position of KL(p || r) in nats, p and r the float and quantized
                   distributions over the classes

Decisions and distributions come from the output's kind (output_kind.py): classes (argmax over
the class axis; a softmax of logits, or the probabilities as they are: never a second softmax),
binary (score above the threshold; the two outcomes (1 - p, p), p a sigmoid of a logit or the
probability as it is), values (neither: agreement and kl are None, not a made-up 0 or 1). With
several outputs, agreement and kl are those of the deciding output (the first classes or binary
one), SQNR and cosine those of all outputs joined.

Rules: NaN never comes out (see qviz.quant.metrics: no noise -> sqnr +inf). Softmax is computed
in float64 after subtracting the row max; a probability under q where p > 0 is floored at 1e-12
(KL stays finite); probabilities given are clipped at 0 and each row divided by its sum.

    >>> fidelity(np.array([[2.0, 0.0]]), np.array([[2.0, 0.0]]))["kl"]
    0.0
    >>> fidelity(np.array([[0.9], [0.4]]), np.array([[0.6], [0.55]]))["agreement"]   # yes/no above 0.5
    0.5
"""

from __future__ import annotations

import numpy as np

from qviz.evaluate.output_kind import OutputKind, decide, decide_all, decision_output
from qviz.quant import metrics
from qviz.quant.spec import SpecError

FLOOR = 1e-12
FIDELITY_METRICS = ("agreement", "sqnr_db", "cosine", "kl")


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    x = np.asarray(x, np.float64)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def kl_rows(p: np.ndarray, r: np.ndarray) -> float:
    """Mean KL(p || r) over the rows of the last axis (nats), p and r distributions."""
    kl = np.sum(p * (np.log(np.maximum(p, FLOOR)) - np.log(np.maximum(r, FLOOR))), axis=-1)
    return float(np.mean(np.maximum(kl, 0.0))) if kl.size else 0.0


def kl_softmax(f: np.ndarray, q: np.ndarray) -> float:
    """Mean KL(softmax(f) || softmax(q)) over all rows of the last axis (nats)."""
    return kl_rows(softmax(f), softmax(q))


def distribution(kind: OutputKind, x: np.ndarray) -> np.ndarray:
    """The class distributions of an output, classes on the last axis (module doc)."""
    x = np.asarray(x, np.float64)
    if kind.kind == "binary":
        p = np.clip(x, 0.0, 1.0) if kind.probabilities else 0.5 * (1.0 + np.tanh(0.5 * x))  # sigmoid, no overflow
        return np.stack([1.0 - p, p], axis=-1)
    if kind.axis is None:
        raise SpecError(f"output {kind.name!r} holds class ids: they carry no distribution")
    x = np.moveaxis(x, kind.axis, -1)
    if not kind.probabilities:
        return softmax(x)
    x = np.maximum(x, 0.0)
    total = np.sum(x, axis=-1, keepdims=True)
    return np.divide(x, total, out=np.full_like(x, 1.0 / x.shape[-1]), where=total > 0)


def agreement(kind: OutputKind, f: np.ndarray, q: np.ndarray) -> float | None:
    """Share of decision positions where the quantized output decides as the float one (None: values)."""
    if not kind.decides:
        return None
    return float(np.mean(kind.decisions(f) == kind.decisions(q))) if len(f) else 1.0


def kl(kind: OutputKind, f: np.ndarray, q: np.ndarray) -> float | None:
    """Mean KL over positions (None for values and for class ids: they carry no distribution)."""
    if not kind.decides or (kind.kind == "classes" and kind.axis is None):
        return None
    return kl_rows(distribution(kind, f), distribution(kind, q))


def fidelity(f: np.ndarray, q: np.ndarray, kind: OutputKind | None = None) -> dict:
    """All fidelity metrics of one output pair (float f, quantized q); kind: decided from f if None."""
    f, q = np.asarray(f), np.asarray(q)
    kind = kind or decide("output", f)
    s = metrics.summary(f.astype(np.float32), q.astype(np.float32))
    return {
        "agreement": agreement(kind, f, q),
        "sqnr_db": s["sqnr_db"],
        "cosine": s["cosine_similarity"],
        "kl": kl(kind, f, q),
    }


def fidelity_all(fs: list[np.ndarray], qs: list[np.ndarray], kinds: list[OutputKind] | None = None) -> dict:
    """Fidelity over several outputs: agreement and KL of the deciding one, SQNR/cosine of all joined."""
    kinds = kinds or decide_all([f"output {i}" for i in range(len(fs))], fs)
    i = decision_output(kinds)
    out = fidelity(fs[i], qs[i], kinds[i]) if i is not None else fidelity(fs[0], qs[0], kinds[0])
    if len(fs) > 1:
        joined = metrics.summary(
            np.concatenate([np.ravel(x).astype(np.float32) for x in fs]),
            np.concatenate([np.ravel(x).astype(np.float32) for x in qs]),
        )
        out.update(sqnr_db=joined["sqnr_db"], cosine=joined["cosine_similarity"])
    return out
