"""The metrics configs are ranked by: their names and which way is better (one table for all).

    accuracy     top-1 on labeled data                          higher is better
    agreement    same top-1 decision as the float model         higher is better
    sqnr_db      output signal-to-quantization-noise (dB)       higher is better
    cosine       cosine similarity of the outputs               higher is better
    kl           KL(softmax(float) || softmax(quantized))       LOWER is better

The CLI's `--metric` choices, the Sensitivity page's metric box, the sweep's damage, the search's
best config and the Pareto front (Trade-offs page and search) all read this table.

    >>> [m for m in RANKING_METRICS if not higher_is_better(m)]
    ['kl']
    >>> scores([0.1, 0.3], "kl").tolist()
    [-0.1, -0.3]
"""

from __future__ import annotations

import numpy as np

HIGHER_IS_BETTER = {"accuracy": True, "agreement": True, "sqnr_db": True, "cosine": True, "kl": False}
# The metrics a user can rank by (sweep damage, search, Pareto front), in the order they are offered.
RANKING_METRICS = ("accuracy", "agreement", "kl", "sqnr_db")


def higher_is_better(metric: str) -> bool:
    """True when a larger value of `metric` is better (KeyError for a name not in the table)."""
    return HIGHER_IS_BETTER[metric]


def scores(values, metric: str) -> np.ndarray:
    """`values` of `metric` as float64 scores where higher is always better (lower-is-better negated)."""
    x = np.asarray(values, dtype=np.float64)
    return x if higher_is_better(metric) else -x


def headline_metric(labeled: bool) -> str:
    """The headline metric: accuracy with labels, else agreement with the float model (fidelity)."""
    return "accuracy" if labeled else "agreement"
