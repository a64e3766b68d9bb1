"""Labeled metrics: top-1 accuracy, per-class accuracy, confusion of float vs quantized predictions.

    predictions(scores, kind=None)      the decisions of an output: [N], or [N, T] for T positions
                                        per sample (output_kind.py; kind decided from scores if None)
    top1(pred, y)                       mean(pred == y) over every position
    per_class(pred_float, pred_q, y)    DataFrame: class, count, float_accuracy, accuracy, drop
    confusion(pred_float, pred_q, C)    [C, C] counts: row = float prediction, column = quantized

Labels have the decisions' shape: [N] (one class, or 0/1 for a binary output, per sample) or
[N, T] (a sequence: one label per position). The confusion is between the two models, not
against labels: its off-diagonal cells are the samples the quantization moved to another class
(row 3, column 8: "was 3, now 8").

    >>> top1(np.array([1, 2, 2]), np.array([1, 2, 0]))
    0.6666666666666666
    >>> predictions(np.array([[[0.1, 0.9], [0.8, 0.2]]]))     # (N, T, C) probabilities: per position
    array([[1, 0]])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qviz.evaluate.output_kind import OutputKind, decide, decision_output
from qviz.quant.spec import SpecError

MAX_LISTED_CLASSES = 100  # classes up to which the confusion is built and per-class tables are printed


def predictions(scores: np.ndarray, kind: OutputKind | None = None) -> np.ndarray:
    """int64 decisions of an output (module doc): [N] or [N, positions]."""
    scores = np.asarray(scores)
    return (kind or decide("output", scores)).decisions(scores)


def top1(pred: np.ndarray, y: np.ndarray) -> float:
    """Share of decisions (every position) equal to the label."""
    pred, y = np.asarray(pred), np.asarray(y)
    if pred.shape != y.shape:
        what = "one per sample" if pred.ndim == 1 else "one per sample and position"
        raise SpecError(f"labels y must have the decisions' shape {pred.shape} ({what}); got {y.shape}")
    return float(np.mean(pred == y)) if y.size else 0.0


def per_class(pred_float: np.ndarray, pred_q: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """One row per label class (every position counts): count, float and quantized accuracy, the drop."""
    pf, pq, y = (np.ravel(a).astype(np.int64) for a in (pred_float, pred_q, y))
    classes, idx, count = np.unique(y, return_inverse=True, return_counts=True)
    fa = np.bincount(idx, weights=pf == y, minlength=len(classes)) / np.maximum(count, 1)
    qa = np.bincount(idx, weights=pq == y, minlength=len(classes)) / np.maximum(count, 1)
    return pd.DataFrame(
        {
            "class": classes.astype(int),
            "count": count.astype(int),
            "float_accuracy": fa,
            "accuracy": qa,
            "drop": fa - qa,
        },
        columns=["class", "count", "float_accuracy", "accuracy", "drop"],
    )


def confusion(pred_float: np.ndarray, pred_q: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """[C, C] int64 counts of (float decision, quantized decision) pairs over every position."""
    pf, pq = np.ravel(pred_float), np.ravel(pred_q)
    n = n_classes or int(max(pf.max(initial=0), pq.max(initial=0)) + 1)
    m = np.zeros((n, n), np.int64)
    np.add.at(m, (pf, pq), 1)
    return m


def decision_metrics(kinds: list[OutputKind], fouts, outs, y, build_confusion: bool | None = None) -> dict:
    """accuracy, float_accuracy, per_class, confusion, classes, notes of the deciding output.

    No output decides (values only): all None, and a note when labels were given. The [C, C]
    confusion is built up to MAX_LISTED_CLASSES classes, or whenever build_confusion is True."""
    i = decision_output(kinds)
    if i is None:
        note = "labels not used: no output has a class decision" if y is not None else ""
        return dict.fromkeys(["accuracy", "float_accuracy", "per_class", "confusion", "classes"]) | {
            "notes": [note] if note else []
        }
    kind = kinds[i]
    pf, pq = kind.decisions(fouts[i]), kind.decisions(outs[i])
    if y is not None and np.shape(y) != pf.shape:
        raise SpecError(f"labels y have shape {np.shape(y)}; {kind.describe()}: decisions of shape {pf.shape}")
    classes = kind.classes or int(max(pf.max(initial=0), pq.max(initial=0)) + 1)
    build = build_confusion if build_confusion is not None else classes <= MAX_LISTED_CLASSES
    return {
        "accuracy": top1(pq, y) if y is not None else None,
        "float_accuracy": top1(pf, y) if y is not None else None,
        "per_class": per_class(pf, pq, y) if y is not None else None,
        "confusion": confusion(pf, pq, classes) if build else None,
        "classes": classes,
        "notes": [],
    }


def decision_accuracy(kinds: list[OutputKind], outs, y) -> float | None:
    """top1 of the deciding output's decisions against labels y (None: no labels or no decision)."""
    i = decision_output(kinds)
    return None if y is None or i is None else top1(kinds[i].decisions(outs[i]), y)
