"""Rounding modes: how a real number between two integer codes picks one.

half_even   2.5 -> 2, 3.5 -> 4, -2.5 -> -2   (ONNX QuantizeLinear, np.rint; unbiased)
half_away   2.5 -> 3, -2.5 -> -3             (C's round(); the textbook rule)
floor       2.7 -> 2, -2.3 -> -3             (toward -inf; cheapest in hardware, biased)
trunc       2.7 -> 2, -2.7 -> -2             (toward zero; what a C cast does)
stochastic  2.3 -> 3 with probability 0.3    (unbiased in expectation; seeded here)
"""

from __future__ import annotations

import numpy as np

from qviz.quant.spec import ROUNDINGS, Rounding, SpecError


def round_values(
    x: np.ndarray, mode: Rounding = "half_even", seed: int = 0, out: np.ndarray | None = None
) -> np.ndarray:
    """Round x to integers (as floats) with `mode`; writes into `out` if given (may be x itself)."""
    y: np.ndarray  # numpy types a ufunc's result as Any
    if mode == "half_even":
        y = np.rint(x, out=out)
        return y
    if mode == "floor":
        y = np.floor(x, out=out)
        return y
    if mode == "trunc":
        y = np.trunc(x, out=out)
        return y
    if mode == "half_away":
        # sign(x) * floor(|x| + 0.5), done without extra full-size temporaries.
        sign = np.signbit(x)
        out = np.abs(x, out=out)
        out += 0.5
        np.floor(out, out=out)
        np.negative(out, out=out, where=sign)
        return out
    if mode == "stochastic":
        rng = np.random.default_rng(seed)
        noise = rng.random(np.shape(x), dtype=np.float32 if np.asarray(x).dtype == np.float32 else np.float64)
        out = np.add(x, noise, out=out)
        y = np.floor(out, out=out)
        return y
    raise SpecError(f"rounding must be one of {', '.join(ROUNDINGS)}; got {mode!r}")
