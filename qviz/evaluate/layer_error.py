"""Per-layer error: where the quantization error is born (local) and where it grows (propagated).

    local        only layer i quantized (as the config says), every other layer float;
                 error of layer i's output against the float model's
    propagated   the whole config applied; error of every layer's output against the float
                 model's, along depth: it includes everything upstream

    >>> from qviz.config import PRESETS
    >>> from qviz.evaluate import from_sample
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_cnn")
    >>> df = layer_errors(sample.model_bytes, PRESETS["w8a8"], from_sample(sample), calib=sample.calibration.x)
    >>> df[["depth", "local_sqnr_db", "propagated_sqnr_db"]].round().astype(int).values.tolist()
    [[0, 41, 41], [1, 42, 37], [2, 41, 35], [3, 52, 43], [4, 49, 40]]

(Alone, each layer keeps 41-52 dB; with every layer quantized the errors add up: 35 dB at depth 2.)

A layer with a low local SQNR is a source; a propagated SQNR that falls much faster than the
local ones along depth shows accumulation. Float layers have local SQNR +inf.
Cost: L + 1 passes, each fetching layer outputs. Memory: every layer output of the data is
held at once, so only the first `max_samples` (32) samples are used by default.
"""

from __future__ import annotations

import pandas as pd

from qviz.config import ModelConfig
from qviz.evaluate.evaluation import make_runner
from qviz.evaluate.session_cache import Runner
from qviz.quant.metrics import summary

MAX_SAMPLES = 32
COLUMNS = [
    "layer",
    "depth",
    "op_type",
    "quantized",
    "local_sqnr_db",
    "local_mse",
    "local_cosine",
    "propagated_sqnr_db",
    "propagated_mse",
    "propagated_cosine",
]


def only_layer(config: ModelConfig, layer_id: str) -> ModelConfig:
    """A float config except `layer_id`, which keeps what `config` gives it."""
    return ModelConfig().with_layer(layer_id, config.for_layer(layer_id))


def layer_errors(
    model,
    config: ModelConfig,
    data=None,
    *,
    calib=None,
    max_samples: int | None = MAX_SAMPLES,
    progress=None,
    cancel=None,
) -> pd.DataFrame:
    """One row per layer (graph order): local and propagated error metrics (module doc)."""
    base = make_runner(model, data, calib=calib)
    budget = base.memory_budget_bytes  # an upload's Runner: its worker's share
    runner = Runner(base.sim, base.data.head(max_samples), memory_budget_bytes=budget) if max_samples else base
    layers = [x for x in runner.layers if x.outputs]
    names = [x.outputs[0] for x in layers]
    ref = dict(zip(names, runner.float_outputs(names), strict=True))
    full = dict(zip(names, runner.outputs(config, names), strict=True))
    rows = []
    for i, layer in enumerate(layers):
        if cancel is not None and is_cancelled(cancel):
            break
        out = layer.outputs[0]
        lc = config.for_layer(layer.id)
        local = summary(ref[out], runner.outputs(only_layer(config, layer.id), [out])[0]) if not lc.is_float else None
        prop = summary(ref[out], full[out])
        rows.append(_row(layer, i, lc, local, prop))
        if progress is not None:
            progress(i + 1, len(layers), layer.id)
    return pd.DataFrame(rows, columns=COLUMNS)


def _row(layer, depth: int, lc, local: dict | None, prop: dict) -> dict:
    inf = float("inf")
    return {
        "layer": layer.id,
        "depth": depth,
        "op_type": layer.op_type,
        "quantized": not lc.is_float,
        "local_sqnr_db": local["sqnr_db"] if local else inf,
        "local_mse": local["mse"] if local else 0.0,
        "local_cosine": local["cosine_similarity"] if local else 1.0,
        "propagated_sqnr_db": prop["sqnr_db"],
        "propagated_mse": prop["mse"],
        "propagated_cosine": prop["cosine_similarity"],
    }


def is_cancelled(cancel) -> bool:
    """cancel: a threading.Event (is_set) or a callable returning True to stop."""
    return cancel.is_set() if hasattr(cancel, "is_set") else bool(cancel())
