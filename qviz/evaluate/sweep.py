"""Sensitivity sweep: for each layer and candidate, quantize only that layer and measure the damage.

    >>> from qviz.evaluate import from_sample
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_mlp")
    >>> res = sweep(sample.model_bytes, from_sample(sample), (8, 4), calib=sample.calibration.x)
    >>> print(res.table.round(3).to_string(index_names=False))   # layers x candidates: damage, bigger = worse
                      w8     w4   a8     a4
    /net/net.0/Gemm  0.0  0.003  0.0  0.000
    /net/net.2/Gemm  0.0 -0.008  0.0 -0.003
    /net/net.4/Gemm  0.0  0.003  0.0 -0.003

(Accuracy lost on 360 test digits: 0.003 is one sample; a negative damage is a lucky flip.)
res.records has every cell with accuracy, agreement, sqnr_db, cosine, kl and damage.

`candidates`: bit widths (weights-only and activations-only candidates, see candidates.py)
or {name: LayerConfig}. Damage of a metric, against the float model on the same data:

    accuracy    float_accuracy - accuracy          (needs labels; else agreement is used)
    agreement   1 - agreement
    kl          KL(softmax(float) || softmax(quantized))
    sqnr_db     10 ** (-sqnr_db / 10)              relative noise power (adds up across layers)

Cost: one pass per cell on the layer's shared switchable session (session_cache.Runner), so
L layers x B candidates = L*B passes + L session builds. `progress(done, total, label)` is
called after every cell; `cancel` (a threading.Event or a callable) is checked before each:
a cancelled sweep returns the cells done so far with `cancelled=True`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from qviz.config import LayerConfig, ModelConfig
from qviz.evaluate.accuracy import predictions, top1
from qviz.evaluate.candidates import candidates_from_bits
from qviz.evaluate.evaluation import make_runner
from qviz.evaluate.fidelity import fidelity_all
from qviz.evaluate.layer_error import is_cancelled
from qviz.evaluate.metric_names import RANKING_METRICS
from qviz.evaluate.results import SweepResult
from qviz.quant.spec import SpecError


def damage(metric: str, m: dict, baseline: dict) -> float:
    """The damage of one evaluation's metrics `m` for `metric` (module doc)."""
    if metric == "accuracy":
        return baseline["accuracy"] - m["accuracy"]
    if metric == "agreement":
        return 1.0 - m["agreement"]
    if metric == "kl":
        return m["kl"]
    return float(10.0 ** (-m["sqnr_db"] / 10.0)) if np.isfinite(m["sqnr_db"]) or m["sqnr_db"] < 0 else 0.0


def measure(runner, config: ModelConfig, fouts, y) -> dict:
    """accuracy (None without labels), agreement, sqnr_db, cosine, kl of one config."""
    outs = runner.outputs(config)
    m: dict[str, Any] = fidelity_all(fouts, outs)
    m["accuracy"] = top1(predictions(outs[0]), y) if y is not None else None
    return m


def resolve_metric(metric: str, labeled: bool) -> str:
    if metric not in RANKING_METRICS:
        raise SpecError(f"metric must be one of {', '.join(RANKING_METRICS)}; got {metric!r}")
    return "agreement" if metric == "accuracy" and not labeled else metric


def as_candidates(candidates) -> dict[str, LayerConfig]:
    if isinstance(candidates, dict):
        return dict(candidates)
    return candidates_from_bits(tuple(candidates))


def sweep(
    model,
    data=None,
    candidates=(8, 4),
    *,
    calib=None,
    metric: str = "accuracy",
    layers=None,
    progress=None,
    cancel=None,
) -> SweepResult:
    """Per layer x candidate sensitivity (module doc). `layers`: ids to sweep (default all)."""
    t0 = time.perf_counter()
    runner = make_runner(model, data, calib=calib)
    cands = as_candidates(candidates)
    todo = [x for x in runner.layers if layers is None or x.id in layers]
    fouts, y = runner.float_outputs(), runner.data.labels
    metric = resolve_metric(metric, y is not None)
    baseline = {"accuracy": top1(predictions(fouts[0]), y) if y is not None else None}
    passes0, built0 = runner.passes, runner.sessions_built
    records, total, cancelled = [], len(todo) * len(cands), False
    for layer in todo:
        for name, lc in cands.items():
            if cancel is not None and is_cancelled(cancel):
                cancelled = True
                break
            m = measure(runner, ModelConfig().with_layer(layer.id, lc), fouts, y)
            records.append(
                {"layer": layer.id, "candidate": name, "mode": _mode(lc), **m, "damage": damage(metric, m, baseline)}
            )
            if progress is not None:
                progress(len(records), total, f"{layer.id} {name}")
        if cancelled:
            break
    rec = pd.DataFrame(
        records, columns=["layer", "candidate", "mode", "accuracy", "agreement", "sqnr_db", "cosine", "kl", "damage"]
    )
    return SweepResult(
        metric,
        baseline,
        _table(rec, [x.id for x in todo], list(cands)),
        rec,
        cancelled,
        time.perf_counter() - t0,
        runner.passes - passes0,
        runner.sessions_built - built0,
    )


def _mode(lc: LayerConfig) -> str:
    if lc.weights is not None and lc.activations is not None:
        return "both"
    return "weights" if lc.weights is not None else ("activations" if lc.activations is not None else "float")


def _table(rec: pd.DataFrame, layer_ids: list, names: list) -> pd.DataFrame:
    """layers (graph order) x candidates of damage; cells not measured (cancelled) are NaN."""
    if rec.empty:
        return pd.DataFrame(index=pd.Index(layer_ids, name="layer"), columns=names, dtype=float)
    t = rec.pivot(index="layer", columns="candidate", values="damage")
    return t.reindex(index=layer_ids, columns=names)
