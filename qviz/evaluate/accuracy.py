"""Labeled metrics: top-1 accuracy, per-class accuracy, confusion of float vs quantized predictions.

    predictions(logits)                 argmax over the last axis ([N, C] -> [N])
    top1(pred, y)                       mean(pred == y)
    per_class(pred_float, pred_q, y)    DataFrame: class, count, float_accuracy, accuracy, drop
    confusion(pred_float, pred_q, C)    [C, C] counts: row = float prediction, column = quantized

The confusion is between the two models, not against labels: its off-diagonal cells are the
samples the quantization moved to another class (row 3, column 8: "was 3, now 8").

    >>> top1(np.array([1, 2, 2]), np.array([1, 2, 0]))
    0.6666666666666666
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qviz.quant.spec import SpecError


def predictions(logits: np.ndarray) -> np.ndarray:
    """Class ids: argmax over the last axis of [N, C] scores (a [N] vector is taken as ids)."""
    logits = np.asarray(logits)
    if logits.ndim == 1:
        return logits.astype(np.int64)
    return np.argmax(logits.reshape(len(logits), -1, logits.shape[-1])[:, 0, :], axis=-1)


def top1(pred: np.ndarray, y: np.ndarray) -> float:
    """Share of samples whose predicted class equals the label."""
    pred, y = np.asarray(pred), np.asarray(y)
    if pred.shape != y.shape:
        raise SpecError(f"labels y must have one entry per sample ({len(pred)}); got {len(y)}")
    return float(np.mean(pred == y)) if len(y) else 0.0


def per_class(pred_float: np.ndarray, pred_q: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """One row per label class: count, float and quantized accuracy, and the drop."""
    rows = []
    for c in np.unique(y):
        m = y == c
        fa, qa = float(np.mean(pred_float[m] == c)), float(np.mean(pred_q[m] == c))
        rows.append({"class": int(c), "count": int(m.sum()), "float_accuracy": fa, "accuracy": qa, "drop": fa - qa})
    return pd.DataFrame(rows, columns=["class", "count", "float_accuracy", "accuracy", "drop"])


def confusion(pred_float: np.ndarray, pred_q: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """[C, C] int64 counts of (float prediction, quantized prediction) pairs."""
    n = n_classes or int(max(pred_float.max(initial=0), pred_q.max(initial=0)) + 1)
    m = np.zeros((n, n), np.int64)
    np.add.at(m, (pred_float, pred_q), 1)
    return m
