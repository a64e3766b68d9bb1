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
    >>> df[["depth", "local_sqnr_db", "propagated_sqnr_db"]].round().astype(int).values.tolist()[:4]
    [[0, 41, 41], [1, 42, 37], [2, 41, 35], [3, 52, 43]]

(Alone, each layer keeps 41-52 dB; with every layer quantized the errors add up: 35 dB at depth 2.)

A layer with a low local SQNR is a source; a propagated SQNR that falls much faster than the
local ones along depth shows accumulation. Float layers have local SQNR +inf.
Cost: one pass of the float model, the whole config and every quantized layer alone, side by side
in one graph that sums the errors itself (error_sums.py): scalars come out, no layer output is
held. (It was one suffix of the model per layer, 169 s on a 121-layer DenseNet, holding every
layer output twice.) What the sums cannot give (If/Loop bodies, padded batches, Inf/NaN) is
computed from the fetched tensors (local_error.py); only the first `max_samples` (32) samples
are used by default.
"""

from __future__ import annotations

import pandas as pd

from qviz.config import ModelConfig
from qviz.evaluate.error_sums import all_finite, error_sums, metrics
from qviz.evaluate.evaluation import make_runner
from qviz.evaluate.local_error import local_outputs
from qviz.evaluate.session_cache import Runner
from qviz.evaluate.tensor_error import error_summary as summary

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
    if cancel is not None and is_cancelled(cancel):
        return pd.DataFrame([], columns=COLUMNS)
    local, prop = _from_sums(runner, config, layers)
    _fetch_the_rest(runner, config, layers, local, prop)
    rows = []
    for i, layer in enumerate(layers):
        if cancel is not None and is_cancelled(cancel):
            break
        rows.append(_row(layer, i, config.for_layer(layer.id), local.get(layer.id), prop[layer.id]))
        if progress is not None:
            progress(i + 1, len(layers), layer.id)
    return pd.DataFrame(rows, columns=COLUMNS)


def _from_sums(runner: Runner, config: ModelConfig, layers) -> tuple[dict, dict]:
    """({layer id: local metrics}, {layer id: propagated metrics}) from one pass summing in the graph
    (error_sums.py); the layers it could not do are left out (empty dicts: not possible at all)."""
    sums = error_sums(runner, config, layers)
    if sums is None:
        return {}, {}
    local = {i: metrics(s) for i, s in sums.local.items() if all_finite(s)}
    return local, {i: metrics(s) for i, s in sums.propagated.items() if all_finite(s)}


def _fetch_the_rest(runner: Runner, config: ModelConfig, layers, local: dict, prop: dict) -> None:
    """Fill in what the sums left out by fetching the tensors (at most two passes: the float taps
    with every layer's local copy, then the whole config; one suffix run per layer not copied)."""
    quantized = [x for x in layers if not config.for_layer(x.id).is_float and x.id not in local]
    todo = [x for x in layers if x.id not in prop]
    if not quantized and not todo:
        return
    names = list(dict.fromkeys(x.outputs[0] for x in [*quantized, *todo]))
    ref, local_out, missed = local_outputs(runner, config, quantized, names)  # one pass (local_error.py)
    local |= {x.id: summary(ref[x.outputs[0]], local_out.pop(x.id)) for x in quantized if x.id in local_out}
    for x in missed:  # not copied into the one pass: its own suffix run
        out = x.outputs[0]
        local[x.id] = summary(ref[out], runner.outputs(only_layer(config, x.id), [out])[0])
    if todo:
        outs = [x.outputs[0] for x in todo]
        full = dict(zip(outs, runner.outputs(config, outs), strict=True))
        prop |= {x.id: summary(ref[x.outputs[0]], full[x.outputs[0]]) for x in todo}


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
