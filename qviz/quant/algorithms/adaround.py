"""AdaRound: learn for every weight whether to round down or up, so the layer's *output* stays
close to float (Nagel et al. 2020, "Up or Down? Adaptive Rounding for Post-Training
Quantization", ICML, eqs. 21-24).

Rounding to nearest is optimal per weight, not per layer. AdaRound keeps the grid (scale, zero
point: those of round-to-nearest, so only rounding decisions change) and optimizes a continuous
variable V per weight:

    h(V)    = clip(sigmoid(V) * (zeta - gamma) + gamma, 0, 1),   zeta = 1.1, gamma = -0.1
    w_soft  = s * (clip(floor(w / s) + h(V) + z, qmin, qmax) - z)
    loss    = mean over calibration rows of ||x @ w.T - x @ w_soft.T||**2
              + lambda * sum(1 - |2 h(V) - 1|**beta)

The regularizer pushes every h(V) to 0 or 1; beta is annealed linearly from 20 to 2 after a
warm start (the first 20% of the iterations without it), lambda = 0.01, Adam with the paper's
defaults (as AIMET). V starts where h(V) equals the fractional part of w / s, i.e. at the
nearest-rounding point's soft version. The final code is floor(w / s) + [V >= 0] (+ z, clipped):
always the floor or the ceiling of w / s, never further away.

Contract: w (out, in) and x (rows, in) as weight_grid.py; a Conv weight is W.reshape(O, -1) with
x its im2col rows (im2col.py). Deterministic for a given seed (the mini-batches are drawn from it).

    >>> from qviz.quant import QuantSpec
    >>> rng = np.random.default_rng(0)
    >>> w, x = rng.normal(size=(4, 16)), rng.normal(size=(64, 16))
    >>> r = adaround(w, x, QuantSpec(bits=3, granularity="channel", axis=0), iterations=200)
    >>> r.info["output_mse"] < r.info["rtn_output_mse"]
    True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from qviz.quant.algorithms.algorithm_result import AlgorithmCancelled, AlgorithmResult
from qviz.quant.algorithms.weight_grid import (
    as_matrix,
    as_rows,
    check_count,
    check_grid_spec,
    dequantize_codes,
    output_mse,
    rtn,
    spread,
)
from qviz.quant.spec import QuantSpec, SpecError

ZETA, GAMMA = 1.1, -0.1  # the stretch of the rectified sigmoid (paper, sec. 4.1)
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8


def rectified_sigmoid(v: np.ndarray) -> np.ndarray:
    """h(V) = clip(sigmoid(V) * (zeta - gamma) + gamma, 0, 1): reaches 0 and 1 exactly."""
    return np.clip(_sigmoid(v) * (ZETA - GAMMA) + GAMMA, 0.0, 1.0)


def beta_at(
    step: int, iterations: int, beta_range: tuple[float, float] = (20.0, 2.0), warm_start: float = 0.2
) -> float:
    """The regularizer's exponent at `step`: beta_range[0] until the warm start ends, then linear to beta_range[1]."""
    start = warm_start * iterations
    progress = max(0.0, (step - start) / max(iterations - start, 1.0))
    return beta_range[1] + (beta_range[0] - beta_range[1]) * max(0.0, 1.0 - progress)


def adaround(
    w: npt.ArrayLike,
    x: npt.ArrayLike,
    spec: QuantSpec,
    iterations: int = 1000,
    reg_weight: float = 0.01,
    lr: float = 0.01,
    batch_size: int = 256,
    warm_start: float = 0.2,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> AlgorithmResult:
    """Learned rounding of w on spec's grid; info: flips against nearest, output errors.

    progress(done, total) is called about every 1% of the iterations; cancel() is checked as often
    and, when it returns True, AlgorithmCancelled is raised (nothing is returned half-done).
    """
    w = as_matrix(w)
    x = as_rows(x, w.shape[1], "AdaRound")
    spec = check_grid_spec(spec, w.shape)
    check_count(iterations, "iterations")
    check_count(batch_size, "batch_size")
    if not (0.0 <= warm_start < 1.0 and reg_weight >= 0.0 and lr > 0.0):
        raise SpecError("AdaRound needs 0 <= warm_start < 1, reg_weight >= 0 and lr > 0")
    plain = rtn(w, spec)
    problem = _Problem(w, x, spec, plain.scale, plain.zero_point)
    v = _optimize(problem, iterations, reg_weight, lr, batch_size, warm_start, seed, progress, cancel)
    q = problem.hard_codes(v)
    w_dq = dequantize_codes(q, plain.scale, plain.zero_point, spec, w.dtype)
    flipped = q != plain.q
    info = {
        "flips": int(flipped.sum()),
        "flips_up": int((q > plain.q).sum()),
        "flips_down": int((q < plain.q).sum()),
        "flipped": flipped,
        "output_mse": output_mse(x, w, w_dq),
        "rtn_output_mse": output_mse(x, w, plain.x_dq),
        "iterations": iterations,
    }
    return AlgorithmResult("adaround", w_dq, q, plain.scale, plain.zero_point, spec, info=info)


class _Problem:
    """The fixed parts: floor(w / s), the clip bounds in code units, the scale of every weight."""

    def __init__(self, w: np.ndarray, x: np.ndarray, spec: QuantSpec, scale: np.ndarray, zp: np.ndarray):
        s = spread(scale, w.shape, spec).astype(w.dtype)
        z = spread(zp, w.shape, spec).astype(np.float64)
        self.floor = np.floor(w / s).astype(np.float64)  # divided in w's type, as quantize_linear
        self.frac = np.clip(w.astype(np.float64) / s - self.floor, 0.0, 1.0)
        self.lo, self.hi = spec.qmin - z, spec.qmax - z  # clip bounds of floor + h, in code units
        self.zp, self.s = z, s.astype(np.float64)
        self.w, self.x = w.astype(np.float64), x.astype(np.float64)

    def initial_v(self) -> np.ndarray:
        """V with h(V) = frac(w / s), clipped away from 0 and 1 so the logit stays finite."""
        h = np.clip(self.frac, 0.01, 0.99)
        v: np.ndarray = -np.log((ZETA - GAMMA) / (h - GAMMA) - 1.0)
        return v

    def gradient(self, v: np.ndarray, rows: np.ndarray, reg_weight: float, beta: float | None) -> np.ndarray:
        """d loss / d V on the batch `rows` (reconstruction, plus the regularizer when beta is set)."""
        sig = _sigmoid(v)
        h = np.clip(sig * (ZETA - GAMMA) + GAMMA, 0.0, 1.0)
        code = self.floor + h
        inside = (code > self.lo) & (code < self.hi)
        w_soft = np.clip(code, self.lo, self.hi) * self.s
        xb = self.x[rows]
        err = xb @ (w_soft - self.w).T  # (batch, out)
        d_h = (2.0 / len(rows)) * (err.T @ xb) * self.s * inside
        if beta is not None:
            t = 2.0 * h - 1.0
            d_h -= reg_weight * beta * 2.0 * np.sign(t) * np.abs(t) ** (beta - 1.0)
        live = (h > 0.0) & (h < 1.0)
        grad: np.ndarray = d_h * sig * (1.0 - sig) * (ZETA - GAMMA) * live
        return grad

    def hard_codes(self, v: np.ndarray) -> np.ndarray:
        code = self.floor + (v >= 0.0) + self.zp
        q: np.ndarray = np.clip(code, self.lo + self.zp, self.hi + self.zp).astype(np.int32)
        return q


def _optimize(
    problem: _Problem,
    iterations: int,
    reg_weight: float,
    lr: float,
    batch_size: int,
    warm_start: float,
    seed: int,
    progress: Callable[[int, int], None] | None,
    cancel: Callable[[], bool] | None,
) -> np.ndarray:
    """Adam on V; the mini-batches are drawn from a generator seeded with `seed`."""
    rng = np.random.default_rng(seed)
    v = problem.initial_v()
    m, m2 = np.zeros_like(v), np.zeros_like(v)
    n_rows, every = problem.x.shape[0], max(1, iterations // 100)
    (b1, b2) = ADAM_BETAS
    for step in range(1, iterations + 1):
        rows = rng.choice(n_rows, size=min(batch_size, n_rows), replace=False)
        beta = beta_at(step, iterations, warm_start=warm_start) if step > warm_start * iterations else None
        g = problem.gradient(v, rows, reg_weight, beta)
        m = b1 * m + (1 - b1) * g
        m2 = b2 * m2 + (1 - b2) * g * g
        v -= lr * (m / (1 - b1**step)) / (np.sqrt(m2 / (1 - b2**step)) + ADAM_EPS)
        if step % every == 0 or step == iterations:
            if cancel is not None and cancel():
                raise AlgorithmCancelled(f"AdaRound cancelled after {step} of {iterations} iterations")
            if progress is not None:
                progress(step, iterations)
    return v


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * v))  # = 1 / (1 + exp(-v)), without overflow for large |v|
