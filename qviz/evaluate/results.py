"""Result types of evaluation, sweeps and searches: plain dataclasses with `to_dict()` for JSON.

JSON rule: every `to_dict()` is accepted by `json.dumps(..., allow_nan=False)`: numpy
scalars become Python numbers, DataFrames become lists of records, and non-finite floats
(an SQNR of +inf when nothing changed) become the strings "inf" / "-inf" / "nan".
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


def jsonable(x):
    """A JSON-safe copy of x (rules in the module doc)."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: jsonable(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, pd.DataFrame):
        return jsonable(x.to_dict("records"))
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, np.generic):
        return jsonable(x.item())
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


@dataclass(frozen=True)
class SizeReport:
    """Weight bytes of a config; `layers` = per-layer records (size.layer_sizes)."""

    weight_bytes: int
    params: int
    bits_per_weight: float
    layers: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return jsonable(self)


@dataclass(frozen=True)
class Latency:
    """Wall time of one inference on `batch` samples: median and p90 over `runs` after warm-up.

    `model` says what was timed: "deployed" (onnxruntime's native form), "simulated" (no
    native form: fake-quantized float ops, no speed-up expected) or "float".
    """

    median_ms: float
    p90_ms: float
    runs: int
    threads: int
    batch: int
    model: str
    native_speedup: bool
    note: str = ""

    def to_dict(self) -> dict:
        return jsonable(self)


@dataclass(frozen=True)
class Evaluation:
    """One config on one dataset (see evaluation.evaluate)."""

    config: dict
    n: int
    source: str
    accuracy: float | None
    float_accuracy: float | None
    fidelity: dict
    size: SizeReport
    per_class: pd.DataFrame | None = None
    confusion: np.ndarray | None = None
    latency: Latency | None = None
    seconds: float = 0.0

    @property
    def accuracy_drop(self) -> float | None:
        return None if self.accuracy is None or self.float_accuracy is None else self.float_accuracy - self.accuracy

    def to_dict(self) -> dict:
        return jsonable(self)


@dataclass(frozen=True)
class SweepResult:
    """Per layer x candidate, only that layer quantized. `table`: layers x candidates of
    `damage` for `metric` (bigger = worse); `records`: every cell with every metric."""

    metric: str
    baseline: dict
    table: pd.DataFrame
    records: pd.DataFrame
    cancelled: bool = False
    seconds: float = 0.0
    passes: int = 0
    sessions_built: int = 0

    def to_dict(self) -> dict:
        d = jsonable(self)
        d["table"] = jsonable(self.table.reset_index())
        return d


@dataclass(frozen=True)
class SearchResult:
    """A mixed-precision search: every config evaluated, the Pareto front, the best one
    within the budget, and per layer why it got its bits (see search.search)."""

    budget: dict
    metric: str
    evaluated: pd.DataFrame
    front: pd.DataFrame
    best: dict | None
    explanation: pd.DataFrame
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def best_config(self):
        from qviz.config import ModelConfig

        return None if self.best is None else ModelConfig.from_json(self.best["config"])

    def to_dict(self) -> dict:
        return jsonable(self)
