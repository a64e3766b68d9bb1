"""The model map's data: one row per layer in graph order, the quantities a map can be colored by.

    >>> df = model_map_table(layers, weight_stats(m, layers), resolve_layer_specs(layers, cfg), sqnr)

Columns: position, id, op_type, shape, params, param_share (of all layer parameters),
weights / activations (short spec labels), bits (weight bits; 32 for float weights),
weight_sqnr_db (x vs its quantized weights under the config; NA for float weights),
channel_spread (max / min channel abs-max), note (group fallback, already quantized).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qviz.model.deploy.ort_overrides import describe_spec
from qviz.quant import QuantSpec, quantize
from qviz.quant.metrics import sqnr_db

QUANTITIES = ("weight_sqnr_db", "bits", "param_share", "channel_spread")
FLOAT_BITS = 32


def weight_sqnr(w: np.ndarray, spec: QuantSpec) -> float:
    """SQNR (dB) of the weight against its quantized version under spec (inf: no error)."""
    x = np.asarray(w, dtype=np.float32)
    return float(sqnr_db(x, quantize(x, spec).x_dq))


def model_map_table(layers, stats: pd.DataFrame, specs: dict, sqnr: dict) -> pd.DataFrame:
    """The per-layer table described in the module doc (sqnr: {layer id: dB} of quantized layers)."""
    total = sum(x.params for x in layers) or 1
    spread = dict(zip(stats["id"], stats["channel_spread"]))
    rows = []
    for i, layer in enumerate(layers):
        s = specs[layer.id]
        rows.append(
            {
                "position": i,
                "id": layer.id,
                "op_type": layer.op_type,
                "shape": " x ".join(map(str, layer.weight_shape)),
                "params": layer.params,
                "param_share": layer.params / total,
                "weights": describe_spec(s.weights),
                "activations": describe_spec(s.activations),
                "bits": FLOAT_BITS if s.weights is None else s.weights.bits,
                "weight_sqnr_db": sqnr.get(layer.id, np.nan),
                "channel_spread": spread.get(layer.id, np.nan),
                "note": s.note,
            }
        )
    return pd.DataFrame(rows)
