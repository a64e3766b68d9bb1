"""Per-layer weight statistics, vectorized, one weight decoded at a time.

    >>> from qviz.model import load_model
    >>> from qviz.samples import load_sample
    >>> row = weight_stats(load_model(load_sample("digits_cnn").model_bytes)).iloc[0]
    >>> row["id"], round(float(row["abs_max"]), 2), round(float(row["channel_spread"]), 2)
    ('/features/features.0/Conv', 2.74, 2.85)

channel_spread = max_c(absmax_c) / min_c(absmax_c) over output channels: how much one
per-tensor scale would waste on the quietest channel (1 = all channels alike; inf when a
channel is all zeros and another is not). Stats are of the *stored* values: for an
already-quantized layer that is the integer tensor (see `weight_dtype`).

# NOTE: NaN/Inf values are excluded from min/max/mean/std and counted in `nonfinite`; an
# empty weight has `empty=True` and missing (NA) statistics instead of silent NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from onnx import ModelProto

from qviz.model.load.layer_table import Layer, layer_table, model_and_weights
from qviz.model.load.loader import LoadedModel
from qviz.model.load.weights import as_numeric, count_nonfinite

COLUMNS = [
    "id",
    "weight_name",
    "weight_dtype",
    "size",
    "min",
    "max",
    "mean",
    "std",
    "abs_max",
    "channels",
    "channel_absmax_min",
    "channel_absmax_max",
    "channel_spread",
    "nonfinite",
    "empty",
]


def _spread(ch_absmax: np.ndarray) -> float:
    lo, hi = float(ch_absmax.min()), float(ch_absmax.max())
    if hi == 0:
        return 1.0
    return hi / lo if lo > 0 else float("inf")


def _mean_std(x: np.ndarray, chunk: int = 1 << 20) -> tuple[float, float]:
    """Mean and population std in float64, two passes over 1M-element chunks.

    # NOTE: np.std(x, dtype=float64) materializes x - mean as a float64 copy (2x a float32
    # tensor); chunking keeps the temporary at 8 MB whatever the tensor size.
    """
    flat = x.reshape(-1)
    mean = float(np.mean(flat, dtype=np.float64))
    sq = sum(float(np.square(flat[i : i + chunk].astype(np.float64) - mean).sum()) for i in range(0, flat.size, chunk))
    return mean, (sq / flat.size) ** 0.5


def array_stats(x: np.ndarray, channel_axis: int | None = None) -> dict:
    """min/max/mean/std/abs_max, per-channel abs-max range and NaN/Inf count of one array."""
    x = as_numeric(x)
    nonfinite = count_nonfinite(x)
    row: dict[str, Any] = {"size": int(x.size), "nonfinite": nonfinite, "empty": x.size == 0}
    if x.size == 0:
        return row
    if nonfinite:
        x = np.where(np.isfinite(x), x, np.nan).astype(np.float64)
        if np.isnan(x).all():
            return row
    if x.ndim == 0 or channel_axis is None:
        x, channel_axis = x.reshape(1, -1), 0
    reduce_min, reduce_max = (np.nanmin, np.nanmax) if nonfinite else (np.min, np.max)
    others = tuple(i for i in range(x.ndim) if i != channel_axis)
    cmin, cmax = reduce_min(x, axis=others), reduce_max(x, axis=others)
    ch_absmax = np.nan_to_num(np.maximum(np.abs(cmin.astype(np.float64)), np.abs(cmax.astype(np.float64))))
    if nonfinite:
        mean, std = float(np.nanmean(x, dtype=np.float64)), float(np.nanstd(x, dtype=np.float64))
    else:
        mean, std = _mean_std(x)
    row.update(
        min=float(np.nanmin(cmin)),
        max=float(np.nanmax(cmax)),
        mean=mean,
        std=std,
        abs_max=float(ch_absmax.max()),
        channels=int(ch_absmax.size),
        channel_absmax_min=float(ch_absmax.min()),
        channel_absmax_max=float(ch_absmax.max()),
        channel_spread=_spread(ch_absmax),
    )
    return row


def weight_stats(model: LoadedModel | ModelProto, layers: list[Layer] | None = None) -> pd.DataFrame:
    """One row per layer (COLUMNS); `layers` defaults to `layer_table(model)`."""
    _, weights = model_and_weights(model)
    layers = layer_table(model) if layers is None else layers
    rows = []
    for layer in layers:
        x = weights[layer.weight_name]
        axis = layer.channel_axis if x.ndim > layer.channel_axis else None
        row = {"id": layer.id, "weight_name": layer.weight_name, "weight_dtype": layer.weight_dtype}
        rows.append(row | array_stats(x, axis))
        del x
    return pd.DataFrame(rows, columns=COLUMNS)
