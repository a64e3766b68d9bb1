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
    kl          KL(float || quantized) of the class distributions (fidelity.py)
    sqnr_db     10 ** (-sqnr_db / 10)              relative noise power (adds up across layers)

Agreement, KL and accuracy use each output's kind (output_kind.py; `output_kind` overrides it):
a binary output's yes/no decisions, a sequence's every position. When no output has a class
decision (values: detection heads, regression) they do not exist: the damage is SQNR-based and
`note` says so; class ids (integer outputs) have no KL: agreement is used.

Deployable: with `simulation_only=False` (what the CLI and the Sensitivity page pass unless asked
otherwise) a cell whose candidate has no onnxruntime form on that layer (6-, 3-, 2-bit weights,
4-bit activations...; candidates.no_deploy_reason) is not measured, and `note` says which and
why; a candidate left out on every layer has no column. The Python default (True) measures every
cell; either way each record's `simulation_only` says why it would not ship ("" when it ships).

Cost: one pass per cell on the layer's shared switchable session (session_cache.Runner), so
L layers x B candidates = L*B passes + L session builds. Memory: the layers are swept in graph
order and the float tensors at each layer's cut are streamed from the previous layer's; at most
`memory_budget_bytes` of them are kept (what is evicted is computed again, same numbers). `progress(done, total, label)` is
called after every cell; `cancel` (a threading.Event or a callable) is checked before each:
a cancelled sweep returns the cells done so far with `cancelled=True`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from qviz.config import LayerConfig, ModelConfig
from qviz.evaluate.accuracy import decision_accuracy
from qviz.evaluate.candidates import candidates_from_bits, no_deploy_reason
from qviz.evaluate.evaluation import make_runner, output_kinds
from qviz.evaluate.fidelity import fidelity_all
from qviz.evaluate.layer_error import is_cancelled
from qviz.evaluate.metric_names import RANKING_METRICS
from qviz.evaluate.output_kind import OutputKind, decision_output
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


def measure(runner, config: ModelConfig, fouts, y, kinds: list[OutputKind] | None = None) -> dict:
    """accuracy (None without labels), agreement, sqnr_db, cosine, kl of one config (None where
    the outputs' kinds have no such measure, module doc)."""
    outs = runner.outputs(config)
    kinds = kinds or output_kinds(runner, fouts)
    m: dict[str, Any] = fidelity_all(fouts, outs, kinds)
    m["accuracy"] = decision_accuracy(kinds, outs, y)
    return m


def resolve_metric(metric: str, labeled: bool, kinds: list[OutputKind] | None = None) -> str:
    """The metric damage is measured with: `metric` when the data and outputs allow it (module doc)."""
    if metric not in RANKING_METRICS:
        raise SpecError(f"metric must be one of {', '.join(RANKING_METRICS)}; got {metric!r}")
    i = None if kinds is None else decision_output(kinds)
    if kinds is not None and i is None:
        return "sqnr_db"
    ids = i is not None and kinds is not None and kinds[i].kind == "classes" and kinds[i].axis is None
    if (metric == "accuracy" and not labeled) or (metric == "kl" and ids):
        return "agreement"
    return metric


def metric_note(asked: str, used: str, kinds: list[OutputKind]) -> str:
    """Why `used` replaced `asked` ("" when only missing labels turned accuracy into agreement)."""
    i = decision_output(kinds)
    if used == asked or (i is not None and (asked, used) == ("accuracy", "agreement")):
        return ""
    if i is None:
        names = ", ".join(repr(k.name) for k in kinds)
        return f"{asked} needs a class decision and no output has one (values: {names}): damage is SQNR-based"
    return f"{asked} does not apply to class ids (output {kinds[i].name!r}): damage is {used}-based"


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
    output_kind=None,
    memory_budget_bytes: int | None = None,
    simulation_only: bool = True,
) -> SweepResult:
    """Per layer x candidate sensitivity (module doc). `layers`: ids to sweep (default all);
    `memory_budget_bytes`: the most the Runner keeps of the model's tensors (default 1 GiB);
    `simulation_only=False`: only the cells that ship (module doc)."""
    t0 = time.perf_counter()
    runner = make_runner(model, data, calib=calib, memory_budget_bytes=memory_budget_bytes)
    cands = as_candidates(candidates)
    todo = [x for x in runner.layers if layers is None or x.id in layers]
    fouts, y = runner.float_outputs(), runner.data.labels
    kinds = output_kinds(runner, fouts, output_kind)
    asked, metric = metric, resolve_metric(metric, y is not None, kinds)
    baseline = {"accuracy": decision_accuracy(kinds, fouts, y)}
    passes0, built0 = runner.passes, runner.sessions_built
    cells = [(layer, name, lc, no_deploy_reason(layer, lc)) for layer in todo for name, lc in cands.items()]
    left_out: dict[str, str] = {}  # candidate -> why it does not ship (its first layer's reason)
    for _, name, _, why in cells:
        if why and not simulation_only:
            left_out.setdefault(name, why)
    cells = [c for c in cells if simulation_only or not c[3]]
    records, cancelled = [], False
    for layer, name, lc, why in cells:
        if cancel is not None and is_cancelled(cancel):
            cancelled = True
            break
        m = measure(runner, ModelConfig().with_layer(layer.id, lc), fouts, y, kinds)
        records.append(
            {"layer": layer.id, "candidate": name, "mode": _mode(lc), **m}
            | {"damage": damage(metric, m, baseline), "simulation_only": why}
        )
        if progress is not None:
            progress(len(records), len(cells), f"{layer.id} {name}")
    rec = pd.DataFrame(records, columns=RECORD_COLUMNS)
    shown = [n for n in cands if any(c[1] == n for c in cells)]
    return SweepResult(
        metric,
        baseline,
        _table(rec, [x.id for x in todo], shown),
        rec,
        cancelled,
        time.perf_counter() - t0,
        runner.passes - passes0,
        runner.sessions_built - built0,
        "; ".join(n for n in (metric_note(asked, metric, kinds), left_out_note(left_out)) if n),
        kinds,
    )


RECORD_COLUMNS = [
    "layer",
    "candidate",
    "mode",
    "accuracy",
    "agreement",
    "sqnr_db",
    "cosine",
    "kl",
    "damage",
    "simulation_only",
]


def left_out_note(left_out: dict[str, str]) -> str:
    """ "w2, w3 not measured: no deployable form (...)" for the candidates left out (by reason)."""
    groups: dict[str, list[str]] = {}
    for name, why in left_out.items():
        groups.setdefault(why.split(": ", 1)[-1], []).append(name)
    return "; ".join(
        f"{', '.join(names)} not measured where they have no deployable form ({why}); "
        "simulation_only=True (--simulation-only) measures them"
        for why, names in groups.items()
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
