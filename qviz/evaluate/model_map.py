"""The model map's data: one row per layer in graph order, the quantities a map can be colored by.

    >>> from qviz.config import PRESETS
    >>> from qviz.model import layer_table, load_model, weight_stats
    >>> from qviz.model.simulate.resolve import resolve_layer_specs
    >>> from qviz.samples import load_sample
    >>> m = load_model(load_sample("digits_cnn").model_bytes)
    >>> layers = layer_table(m)
    >>> specs = resolve_layer_specs(layers, PRESETS["w4g32"])
    >>> sqnr = {x.id: weight_sqnr(m.weights[x.weight_name], specs[x.id].weights) for x in layers}
    >>> df = model_map_table(layers, weight_stats(m, layers), specs, sqnr)
    >>> print(df[["id", "bits", "param_share", "weight_sqnr_db"]].round(2).to_string(index=False))
                               id  bits  param_share  weight_sqnr_db
        /features/features.0/Conv     4         0.00           22.80
        /features/features.3/Conv     4         0.11           21.68
        /features/features.7/Conv     4         0.46           20.68
    /classifier/classifier.1/Gemm     4         0.41           21.19
    /classifier/classifier.3/Gemm     4         0.02           22.33

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

# The columns the Model page and the HTML report show, in their order (param_share and bits color the map).
SHOWN_COLUMNS = (
    "position",
    "id",
    "op_type",
    "shape",
    "params",
    "weights",
    "activations",
    "weight_sqnr_db",
    "channel_spread",
    "note",
)

QUANTITIES = ("weight_sqnr_db", "bits", "param_share", "channel_spread")
FLOAT_BITS = 32
# Every column of model_map_table, in its order: a model with no quantizable layer still has them.
COLUMNS: tuple[str, ...] = ("position", "id", "op_type", "shape", "params", "param_share", "weights")
COLUMNS += ("activations", "bits", "weight_sqnr_db", "channel_spread", "note")


def weight_sqnr(w: np.ndarray, spec: QuantSpec) -> float:
    """SQNR (dB) of the weight against its quantized version under spec (inf: no error)."""
    x = np.asarray(w, dtype=np.float32)
    return float(sqnr_db(x, quantize(x, spec).x_dq))


def model_map_table(layers, stats: pd.DataFrame, specs: dict, sqnr: dict) -> pd.DataFrame:
    """The per-layer table described in the module doc (sqnr: {layer id: dB} of quantized layers)."""
    total = sum(x.params for x in layers) or 1
    spread = dict(zip(stats["id"], stats["channel_spread"], strict=True))
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
    return pd.DataFrame(rows, columns=list(COLUMNS))
