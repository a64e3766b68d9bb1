"""'Predict, then reveal' exercises: the learner guesses, then sees the number computed here.

Each exercise names a tensor ("normal": 4096 N(0, 1) values, seed 0; "depthwise": a real layer's
weights the caller supplies, e.g. the MobileNet sample's first depthwise conv), a measure
computed on it with the engine, and a few options. The right option is the one nearest to
the computed value: nothing is hard-coded but the options.

    >>> r = reveal(EXERCISES_BY_KEY["bits_8_to_4"], exercise_tensor("normal"))
    >>> round(r.value, 1), r.correct          # options (6, 24, 48) dB: the nearest is 24, index 1
    (24.7, 1)

4 fewer bits cost ~4 x 6.02 = 24.1 dB by the rule of thumb; with min-max ranges the step
grows by (2**8 - 1) / (2**4 - 1) = 17, not 16, so the loss is nearer 20 * log10(17) = 24.6 dB.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qviz.lessons.distributions import make_distribution
from qviz.quant import QuantSpec, SpecError
from qviz.quant.api import quantize
from qviz.quant.metrics import sqnr_db


@dataclass(frozen=True)
class Exercise:
    """key: i18n prefix (ex_<key>_question, ex_<key>_explain); options: candidate answers in `unit`."""

    key: str
    tensor: str
    options: tuple[float, ...]
    unit: str
    measure: Callable[[np.ndarray], float]


@dataclass(frozen=True)
class Reveal:
    value: float
    correct: int


def _sqnr(x: np.ndarray, spec: QuantSpec) -> float:
    return float(sqnr_db(x, quantize(x, spec).x_dq))


def sqnr_loss_8_to_4(x: np.ndarray) -> float:
    """dB of SQNR lost going from 8 to 4 bits (int, min-max, per tensor)."""
    return _sqnr(x, QuantSpec(bits=8)) - _sqnr(x, QuantSpec(bits=4))


def floor_vs_round_ratio(x: np.ndarray) -> float:
    """MSE with rounding down (floor) / MSE with round to nearest, 8 bits: ~4 (step**2/3 vs step**2/12)."""
    return float(quantize(x, QuantSpec(bits=8, rounding="floor")).mse / quantize(x, QuantSpec(bits=8)).mse)


def per_channel_gain(w: np.ndarray) -> float:
    """dB of SQNR gained by per-channel (axis 0) over per-tensor scales, int8 symmetric."""
    spec = QuantSpec(bits=8, symmetric=True)
    return _sqnr(w, spec.replace(granularity="channel", axis=0)) - _sqnr(w, spec)


EXERCISES = (
    Exercise("bits_8_to_4", "normal", (6.0, 24.0, 48.0), "dB", sqnr_loss_8_to_4),
    Exercise("floor_vs_round", "normal", (1.0, 2.0, 4.0, 16.0), "x", floor_vs_round_ratio),
    Exercise("per_channel_dw", "depthwise", (0.0, 5.0, 20.0), "dB", per_channel_gain),
)
EXERCISES_BY_KEY = {e.key: e for e in EXERCISES}


def exercise_tensor(name: str) -> np.ndarray:
    """The synthetic tensors; "depthwise" comes from a model, so the caller loads it."""
    if name != "normal":
        raise SpecError(f"tensor must be 'normal' (others come from a model); got {name!r}")
    return make_distribution("normal", 4096, seed=0)


def reveal(exercise: Exercise, x: np.ndarray) -> Reveal:
    """The computed value and the index of the nearest option (the right answer)."""
    value = float(exercise.measure(np.asarray(x, dtype=np.float32)))
    return Reveal(value, int(np.argmin([abs(value - o) for o in exercise.options])))
