"""Output kinds: how each model output is compared between the float and the quantized model.

    classes   a class axis: (N, C), (N, C, 1, 1), (N, T, C) ...: the decision is the argmax over
              the class axis at every other position; agreement = mean over all N * T positions
    binary    one score per sample, (N,) or (N, 1): the decision is score > 0.5 for probabilities,
              score > 0 for logits (given explicitly, every element of any shape is a yes/no)
    values    detection heads, regression, feature maps, anything else: SQNR and cosine only;
              agreement and KL are None: there is no decision to agree on, and a made-up 0 or 1
              would read as a measurement

Integer outputs are class ids already (classes with axis None: compared as they are).

Why values decide it, not only the shape: a sequence of class scores (N, T, C) and a detection
head (1, 84, K) have the same rank. Scores are probabilities when every float value is in [0, 1]
and (classes) every row along the class axis sums to 1 (within 1e-2): KL is then computed on
them directly, not after a second softmax (binary: after a sigmoid only for logits).

Auto rules, from the float model's output on the data (axis 0 is the sample axis):
  integer or bool               classes, ids as given
  no other dim larger than 1    binary
  exactly one such dim          classes over it ((N, C) and (N, C, 1, 1) alike)
  more                          classes over the last (else the first) such axis holding
                                probabilities; else values. A sequence of *logits* looks like a
                                detection head: give output_kind="classes" for it.

Override (`output_kind` of evaluate / sweep / search / Runner, CLI --output-kind):
"auto" | "classes" | "binary" | "values", with optional ":AXIS" (classes) and ":logits" or
":probabilities" parts, e.g. "classes:2:logits"; a str applies to every output, a dict
{output name: kind} to the named ones (the others stay auto).

    >>> decide("y", np.array([[0.5, 2.0, -1.0]] * 4)).describe()
    "output 'y': classes = argmax over axis 1; KL after a softmax of the logits"
    >>> decide("p", np.array([[0.9], [0.2]])).threshold      # probabilities: yes when > 0.5
    0.5
    >>> decide("boxes", np.zeros((1, 84, 300))).kind          # no axis holds probabilities
    'values'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from qviz.quant.spec import SpecError

KINDS = ("classes", "binary", "values")
SCALES = ("logits", "probabilities")
SUM_TOLERANCE = 1e-2


@dataclass(frozen=True)
class OutputKind:
    """How one output is compared (module doc). `positions`: decisions per sample; `classes`:
    size of the class axis (2 for binary, None for ids and values); `given`: set by the user."""

    name: str
    kind: str
    axis: int | None = None
    probabilities: bool = False
    positions: int = 1
    classes: int | None = None
    given: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise SpecError(f"output kind must be one of {', '.join(KINDS)}; got {self.kind!r}")

    @property
    def decides(self) -> bool:
        """True when the output has a decision to agree on (classes or binary)."""
        return self.kind != "values"

    @property
    def threshold(self) -> float | None:
        return (0.5 if self.probabilities else 0.0) if self.kind == "binary" else None

    def decisions(self, x: np.ndarray) -> np.ndarray:
        """int64 decisions, [N] (one position per sample) or [N, positions]."""
        x = np.asarray(x)
        if self.kind == "values":
            raise SpecError(f"output {self.name!r} holds values: it has no class decision")
        if self.kind == "binary":
            d = (x > self.threshold).astype(np.int64)
        elif self.axis is None:
            d = x.astype(np.int64)
        else:
            d = np.argmax(x, axis=self.axis)
        d = d.reshape(len(x), -1)
        return d[:, 0] if d.shape[1] == 1 else d

    def describe(self) -> str:
        """One line: what is compared on this output (the CLI prints it; the app translates it)."""
        where = f"output {self.name!r}{' (given)' if self.given else ''}"
        at = f" at {self.positions} positions per sample" if self.positions > 1 else ""
        if self.kind == "values":
            return f"{where}: values, no class decision: SQNR and cosine only (agreement and KL do not apply)"
        if self.kind == "binary":
            kl = "KL on the probabilities" if self.probabilities else "KL after a sigmoid of the logits"
            return f"{where}: yes/no = score > {self.threshold:g}{at}; {kl}"
        if self.axis is None:
            return f"{where}: class ids as given{at}; no KL"
        kl = "KL on the probabilities as given" if self.probabilities else "KL after a softmax of the logits"
        return f"{where}: classes = argmax over axis {self.axis}{at}; {kl}"


def decide(name: str, x: np.ndarray, given: str | None = None) -> OutputKind:
    """The OutputKind of output `name` from its float values `x`; `given` overrides (module doc)."""
    x = np.asarray(x)
    kind, axis, scale = parse(given)
    if kind is None:
        return _auto(name, x)
    if x.dtype.kind in "iub" or x.ndim == 0:
        if kind != "values" and x.ndim == 0:
            raise SpecError(f"output {name!r} is a scalar: it can only be compared as values")
        return OutputKind(name, "values", given=True) if kind == "values" else replace(_auto(name, x), given=True)
    if kind == "values":
        return OutputKind(name, "values", given=True)
    if kind == "binary":
        probs = _in_unit_range(x) if scale is None else scale == "probabilities"
        return OutputKind(name, "binary", None, probs, _per_sample(x), 2, given=True)
    return _given_classes(name, x, axis, scale)


def decide_all(names, xs, given=None) -> list[OutputKind]:
    """decide() for every output; `given`: None, a str for all, or {output name: str}."""
    names = list(names)
    if isinstance(given, dict):
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise SpecError(f"output_kind names unknown outputs {unknown}; the outputs are {names}")
        return [decide(n, x, given.get(n)) for n, x in zip(names, xs, strict=True)]
    return [decide(n, x, given) for n, x in zip(names, xs, strict=True)]


def decision_output(kinds: list[OutputKind]) -> int | None:
    """Index of the output that decides (the first classes or binary one), None when none does."""
    return next((i for i, k in enumerate(kinds) if k.decides), None)


def parse(text) -> tuple[str | None, int | None, str | None]:
    """(kind or None for auto, class axis or None, scale or None) of an override string."""
    if text is None or text == "auto":
        return None, None, None
    if not isinstance(text, str):
        raise SpecError(f"output_kind must be a string like 'classes' or 'binary:logits'; got {text!r}")
    kind, *parts = text.strip().lower().split(":")
    axis, scale = None, None
    if kind not in KINDS:
        raise SpecError(f"output_kind must be auto or one of {', '.join(KINDS)}; got {text!r}")
    for p in parts:
        if p in SCALES and scale is None and kind != "values":
            scale = p
        elif p.lstrip("-").isdigit() and axis is None and kind == "classes":
            axis = int(p)
        else:
            raise SpecError(
                f"output_kind {text!r}: after the kind come an axis (classes only) and logits or probabilities"
            )
    return kind, axis, scale


def _auto(name: str, x: np.ndarray) -> OutputKind:
    if x.dtype.kind in "iub" and x.ndim >= 1:
        return OutputKind(name, "classes", None, False, _per_sample(x))
    if x.dtype.kind != "f" or x.ndim == 0:
        return OutputKind(name, "values")
    wide = [a for a in range(1, x.ndim) if x.shape[a] > 1]
    if not wide:
        return OutputKind(name, "binary", None, _in_unit_range(x), 1, 2)
    if len(wide) == 1:
        return _classes(name, x, wide[0], _distribution(x, wide[0]))
    for a in (wide[-1], wide[0]):
        if _distribution(x, a):
            return _classes(name, x, a, True)
    return OutputKind(name, "values")


def _given_classes(name: str, x: np.ndarray, axis: int | None, scale: str | None) -> OutputKind:
    wide = [a for a in range(1, x.ndim) if x.shape[a] > 1]
    if axis is None:
        prob_axes = [a for a in reversed(wide) if _distribution(x, a)]
        axis = prob_axes[0] if prob_axes else (wide[-1] if wide else None)
    elif not -x.ndim < axis < x.ndim or axis % x.ndim == 0:
        raise SpecError(f"output {name!r} has shape {x.shape}: class axis {axis} is not one of 1..{x.ndim - 1}")
    if axis is None or x.shape[axis] < 2:
        raise SpecError(f"output {name!r} has shape {x.shape}: one score per position is no class axis (use binary)")
    axis %= x.ndim
    probs = _distribution(x, axis) if scale is None else scale == "probabilities"
    return _classes(name, x, axis, probs, given=True)


def _classes(name: str, x: np.ndarray, axis: int, probs: bool, given: bool = False) -> OutputKind:
    positions = _per_sample(x) // x.shape[axis]
    return OutputKind(name, "classes", axis, probs, positions, int(x.shape[axis]), given)


def _per_sample(x: np.ndarray) -> int:
    return math.prod(x.shape[1:]) if x.ndim else 1


def _in_unit_range(x: np.ndarray) -> bool:
    return bool(x.size) and bool(np.all(np.isfinite(x))) and float(x.min()) >= 0.0 and float(x.max()) <= 1.0


def _distribution(x: np.ndarray, axis: int) -> bool:
    """Every row along `axis` is in [0, 1] and sums to 1 (within SUM_TOLERANCE)."""
    if not _in_unit_range(x):
        return False
    return bool(np.all(np.abs(np.sum(x, axis=axis, dtype=np.float64) - 1.0) <= SUM_TOLERANCE))
