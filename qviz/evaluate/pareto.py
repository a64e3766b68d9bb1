"""The Pareto front of evaluated configs: one definition for the Trade-offs page and the search.

A config is on the front when no other config beats it: at least as good on the metric (see
metric_names: "kl" is lower-is-better), no more weight bytes and no more latency, and strictly
better on one of them.

Latency counts only between two configs that both have it measured: an unmeasured latency is
unknown, neither infinitely slow nor free, so a config without one is never beaten on latency
and never beats another on it. A history where no config was timed is ranked by metric and size.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"accuracy": [0.9, 0.8, 0.9], "weight_bytes": [100, 50, 120]})
    >>> pareto_mask(df, "accuracy").tolist()          # the third is bigger and no better
    [True, True, False]
    >>> timed = df.assign(latency_ms=[2.0, None, 1.0])
    >>> pareto_mask(timed, "accuracy").tolist()       # ... but faster than the first
    [True, True, True]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qviz.evaluate.metric_names import scores


def pareto_mask(df: pd.DataFrame, metric: str) -> np.ndarray:
    """True for the rows of `df` (columns `metric`, weight_bytes, optional latency_ms) on the front."""
    if df.empty:
        return np.zeros(0, bool)
    score = scores(df[metric].astype(float), metric)
    size = df["weight_bytes"].to_numpy(np.float64)
    lat = df["latency_ms"].astype(float).to_numpy() if "latency_ms" in df else np.full(len(df), np.nan)
    keep = np.ones(len(df), bool)
    for i in range(len(df)):
        timed = ~np.isnan(lat) & ~np.isnan(lat[i])  # latency is compared only where both have it
        lat_ge = ~timed | (lat <= lat[i])
        lat_gt = timed & (lat < lat[i])
        ge = (score >= score[i]) & (size <= size[i]) & lat_ge
        gt = (score > score[i]) | (size < size[i]) | lat_gt
        keep[i] = not np.any(ge & gt)
    return keep


def pareto_front(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The rows on the front, one per config, smallest first."""
    if df.empty:
        return df
    front = df[pareto_mask(df, metric)]
    return front.drop_duplicates(subset="config").sort_values("weight_bytes").reset_index(drop=True)
