"""Result types of evaluation, sweeps and searches: plain dataclasses with `to_dict()` for JSON.

JSON rule: every `to_dict()` is accepted by `json.dumps(..., allow_nan=False)`: numpy
scalars become Python numbers, DataFrames become lists of records, and non-finite floats
(an SQNR of +inf when nothing changed) become the strings "inf" / "-inf" / "nan".

Size rule: an Evaluation of a model with more than MAX_LISTED_CLASSES classes leaves its per-class
table and its confusion out of `to_dict()` unless asked (`per_class=True`): a 6625-class model's
confusion is 44 million numbers (measured: 263 s to build and print, for 1.9 s of evaluation).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qviz.evaluate.accuracy import MAX_LISTED_CLASSES


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
    output_kinds: list = field(default_factory=list)  # an output_kind.OutputKind per model output
    notes: list = field(default_factory=list)  # what could not be measured, and why
    classes: int | None = None  # classes of the deciding output (2 for binary; None: no output decides)

    @property
    def accuracy_drop(self) -> float | None:
        return None if self.accuracy is None or self.float_accuracy is None else self.float_accuracy - self.accuracy

    @property
    def decision_kind(self):
        """The OutputKind agreement, KL and accuracy were measured on (None: no output decides)."""
        return next((k for k in self.output_kinds if k.decides), None)

    @property
    def measure(self) -> str:
        """One line: which output and which comparison the numbers come from (output_kind.describe)."""
        k = self.decision_kind or (self.output_kinds[0] if self.output_kinds else None)
        return "" if k is None else k.describe()

    def to_dict(self, per_class: bool | None = None) -> dict:
        """JSON-safe dict; per_class None: the per-class table and confusion only up to
        MAX_LISTED_CLASSES classes (module doc), True: always, False: never."""
        big = (self.classes or 0) > MAX_LISTED_CLASSES
        listed = per_class if per_class is not None else not big
        d = jsonable(self if listed else dataclasses.replace(self, per_class=None, confusion=None))
        d["measure"] = self.measure
        if big and not listed:
            d["notes"].append(
                f"per-class table and confusion not listed: {self.classes} classes, more than {MAX_LISTED_CLASSES} "
                "(per_class=True, CLI --per-class, lists them)"
            )
        return d


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
    note: str = ""  # why the damage uses another metric than asked (e.g. no output decides)
    output_kinds: list = field(default_factory=list)

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
    note: str = ""  # why metric / proxy differ from those asked (e.g. no output decides)
    output_kinds: list = field(default_factory=list)

    @property
    def best_config(self):
        from qviz.config import ModelConfig

        return None if self.best is None else ModelConfig.from_json(self.best["config"])

    def to_dict(self) -> dict:
        return jsonable(self)
