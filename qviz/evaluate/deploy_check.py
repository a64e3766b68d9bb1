"""deploy_check: does the deployed model do what the simulation shows? Per tensor and end to end.

    >>> from qviz.config import PRESETS
    >>> from qviz.evaluate import from_sample
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_cnn")
    >>> r = deploy_check(sample.model_bytes, PRESETS["w8a8"], from_sample(sample).head(64), calib=sample.calibration.x)
    >>> sorted(r.end_to_end)                              # the same measures, both ways
    ['deployed', 'simulated']
    >>> list(r.table().columns)[:4]
    ['tensor', 'kind', 'passed', 'max diff (steps)']

The per-tensor part is qviz.model.deploy.tensor_check (what is compared, the reasons). Here: each
model's outputs against the float model's on the same batches, with the functions `evaluate`
uses (fidelity_all: agreement, SQNR, cosine, KL; decision_metrics: accuracy with labels), so
"simulated" is the number the app shows and "deployed" the number the shipped file gives.

`summarize(raw, data)` does the same from `DeployCheck.to_dict()` (plain data: what a worker
sends back), so an upload's check can run in its worker and be summarized here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from qviz.config import ModelConfig
from qviz.evaluate.accuracy import decision_metrics
from qviz.evaluate.data import EvalData, as_data
from qviz.evaluate.fidelity import fidelity_all
from qviz.evaluate.output_kind import decide_all
from qviz.model.deploy.tensor_check import check_deployment
from qviz.model.simulate.simulator import Simulator

COLUMNS = {  # DeployCheck row keys -> readable column names
    "tensor": "tensor",
    "kind": "kind",
    "passed": "passed",
    "max_steps": "max diff (steps)",
    "over_one_step": "elements > 1 step",
    "elements": "elements",
    "on_grid": "same grid",
    "reason": "reason",
}


@dataclass
class DeployCheckResult:
    """Per-tensor rows (worst first), the end-to-end metrics both ways, what ran and how."""

    rows: list[dict]
    end_to_end: dict  # {"simulated": {...}, "deployed": {...}}: accuracy, float_accuracy, agreement, sqnr_db...
    n: int
    source: str
    reduce_range: bool
    kernels_kept: bool
    notes: list[str]

    @property
    def passed(self) -> int:
        return sum(bool(r["passed"]) for r in self.rows)

    def causes(self) -> dict[str, int]:
        """{cause: failing tensors} of the failures that start here, most first; the ones carried
        from a failing tensor upstream are counted under "carried from upstream".

        >>> r = DeployCheckResult([{"passed": False, "reason": "fused kernel QLinearAdd: table"},
        ...     {"passed": False, "reason": "carried from upstream 'a', which differs"}], {}, 0, "", False, True, [])
        >>> r.causes()
        {'fused kernel QLinearAdd': 1, 'carried from upstream': 1}
        """
        out: dict[str, int] = {}
        for r in self.rows:
            if not r["passed"]:
                reason = str(r["reason"])
                key = "carried from upstream" if reason.startswith("carried from upstream") else reason.split(":")[0]
                out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (kv[0] == "carried from upstream", -kv[1])))

    def table(self) -> pd.DataFrame:
        """The rows with readable column names, worst first (no value arrays)."""
        df = pd.DataFrame([{COLUMNS[k]: r[k] for k in COLUMNS} for r in self.rows], columns=list(COLUMNS.values()))
        df["max diff (steps)"] = df["max diff (steps)"].astype(float).round(2)
        return df

    def to_dict(self) -> dict:
        """JSON-ready (`json.dumps(..., allow_nan=False)`): the arrays of values are left out."""
        rows = [{k: _plain(v) for k, v in r.items() if k not in ("simulated", "deployed")} for r in self.rows]
        return {
            "tensors": rows,
            "passed": self.passed,
            "total": len(self.rows),
            "causes": self.causes(),
            "end_to_end": {k: {m: _plain(v) for m, v in d.items()} for k, d in self.end_to_end.items()},
            "n": self.n,
            "source": self.source,
            "reduce_range": self.reduce_range,
            "kernels_kept": self.kernels_kept,
            "notes": self.notes,
        }


def deploy_check(
    model,
    config: ModelConfig,
    data=None,
    *,
    calib=None,
    simulator: Simulator | None = None,
    reduce_range=None,
    output_kind=None,
) -> DeployCheckResult:
    """check_deployment of `config` on `data` (EvalData, a Sample, arrays; None: generated), summarized;
    `output_kind`: how outputs are compared (output_kind.py; default: decided from the float outputs)."""
    sim = simulator or (model if isinstance(model, Simulator) else Simulator(model, calib))
    data = as_data(sim.loaded, data)
    raw = check_deployment(sim, config, data.feeds, reduce_range=reduce_range).to_dict()
    return summarize(raw, data, output_kind)


def summarize(raw: dict, data: EvalData, output_kind=None) -> DeployCheckResult:
    """DeployCheckResult from `DeployCheck.to_dict()` and the data it ran on (module doc)."""
    fouts = data.join(raw["float_outputs"])
    kinds = decide_all(raw["output_names"], fouts, output_kind)
    end = {}
    for way in ("simulated", "deployed"):
        outs = data.join(raw[f"{way}_outputs"])
        m = decision_metrics(kinds, fouts, outs, data.labels, False)
        end[way] = {
            "accuracy": m["accuracy"],
            "float_accuracy": m["float_accuracy"],
            **fidelity_all(fouts, outs, kinds),
        }
    return DeployCheckResult(
        list(raw["tensors"]),
        end,
        data.n,
        data.source,
        bool(raw["reduce_range"]),
        bool(raw["kernels_kept"]),
        list(raw["notes"]),
    )


def _plain(x):
    """A JSON-safe scalar: numpy to Python, +-inf as "inf"/"-inf" (no NaN reaches here)."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return "inf" if x > 0 else "-inf"
    return x
