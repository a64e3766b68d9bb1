"""HQQ: half-quadratic quantization, data-free (Badri & Shaji 2023, "Half-Quadratic Quantization of
Large Machine Learning Models", mobiusml blog; reference: hqq/core/optimize.py,
optimize_weights_proximal_legacy).

With the scale s of each group fixed, HQQ picks the group's (float) zero point z that minimizes
a sparsity-promoting lp norm (p < 1) of the weight error, ||w - (Q_z(w) - z) * s||_p, where
Q_z(w) = clip(round(w / s + z), qmin, qmax). Outliers then cost little and the bulk of the group
fits the grid. Half-quadratic splitting with an auxiliary error variable e gives alternating
closed-form steps, run for `iterations` with beta growing by kappa each time:

    q   = clip(round(w / s + z), qmin, qmax),   w_r = (q - z) * s
    e   = shrink_p(w - w_r, beta)       shrink_p(u) = sign(u) * max(|u| - |u|**(p-1) / beta, 0)
    z   = mean over the group of (q - (w - e) / s)
    beta *= kappa

Parameters as the reference: p = 0.7, beta = 10, kappa = 1.01, 20 iterations, stopping as soon as
the mean |w - w_r| stops improving. # NOTE: the reference returns the codes of the last iteration
with the zero point already updated once more; this returns the best iterate seen, and plain
round-to-nearest (qviz.quant.quantize, integer zero point) is the first candidate, so the result
is never worse than RTN on mean |w - w_dq|.

The scale is qviz's (range widened to include 0, qparams.py), so HQQ and RTN share s; the zero
point is a float (per group, ONNX layout, float32) as in HQQ and in MatMulNBits' float zero
points; a QuantizeLinear deployment needs integer zero points and would round it.

    >>> from qviz.quant import QuantSpec
    >>> w = np.random.default_rng(0).standard_t(3, size=(8, 64))     # heavy tails: outliers
    >>> r = hqq(w, QuantSpec(bits=3, symmetric=False, granularity="group", axis=1, group_size=32))
    >>> r.info["mean_abs_error"] <= r.info["rtn_mean_abs_error"], r.zero_point.dtype
    (True, dtype('float32'))
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qviz.quant.algorithms.algorithm_result import AlgorithmResult
from qviz.quant.algorithms.weight_grid import as_matrix, check_count, check_grid_spec, rtn
from qviz.quant.granularity import from_groups, params_to_rows, rows_to_params, to_groups
from qviz.quant.spec import QuantSpec, SpecError

W4_G64 = QuantSpec(bits=4, signed=False, symmetric=False, granularity="group", axis=1, group_size=64)


def shrink_lp(u: np.ndarray, beta: float, p: float) -> np.ndarray:
    """Generalized soft thresholding, the proximal step of the lp norm: sign(u) * max(|u| - |u|**(p-1)/beta, 0)."""
    a = np.abs(u)
    with np.errstate(divide="ignore"):  # |u| = 0 gives inf ** (negative) ... -> thresholded to 0 below
        penalty = np.where(a > 0, a ** (p - 1.0), np.inf) / beta
    out: np.ndarray = np.sign(u) * np.maximum(a - penalty, 0.0)
    return out


def hqq(
    w: npt.ArrayLike,
    spec: QuantSpec = W4_G64,
    p: float = 0.7,
    beta: float = 10.0,
    kappa: float = 1.01,
    iterations: int = 20,
) -> AlgorithmResult:
    """HQQ codes of w with spec's scales and optimized float zero points (module docstring)."""
    w = as_matrix(w)
    spec = check_grid_spec(spec, w.shape)
    check_count(iterations, "iterations")
    if spec.symmetric:
        raise SpecError("HQQ optimizes the zero point: it needs symmetric=false")
    if not (0.0 < p < 1.0 and beta > 0.0 and kappa >= 1.0):
        raise SpecError(f"HQQ needs 0 < p < 1, beta > 0 and kappa >= 1; got p={p}, beta={beta}, kappa={kappa}")
    plain = rtn(w, spec)
    w2d = to_groups(w, spec.granularity, spec.axis, spec.group_size).astype(np.float64)
    s = params_to_rows(plain.scale, spec.granularity, spec.axis).astype(np.float64)[:, None]
    z0 = params_to_rows(plain.zero_point, spec.granularity, spec.axis).astype(np.float64)[:, None]
    q2d = to_groups(plain.q, spec.granularity, spec.axis, spec.group_size)
    best_q, best_z, best_err = q2d.astype(np.float64), z0, float(np.mean(np.abs(w2d - (q2d - z0) * s)))
    rtn_err, z, steps = best_err, z0, 0
    for _ in range(iterations):
        q = np.clip(np.rint(w2d / s + z), spec.qmin, spec.qmax)
        w_r = (q - z) * s
        err = float(np.mean(np.abs(w2d - w_r)))
        if err >= best_err and steps:  # the reference's stop: the error stopped improving
            break
        if err < best_err:
            best_q, best_z, best_err = q, z, err
        e = shrink_lp(w2d - w_r, beta, p)
        z = np.mean(q - (w2d - e) / s, axis=1, keepdims=True)
        beta *= kappa
        steps += 1
    result = _result(w, spec, plain.scale, best_q, best_z, s, rtn_err, steps)
    if result.info["mean_abs_error"] > rtn_err:  # float32 rounding of z undid a hair-thin gain: keep RTN
        result = _result(w, spec, plain.scale, q2d.astype(np.float64), z0, s, rtn_err, steps)
    return result


def _result(
    w: np.ndarray,
    spec: QuantSpec,
    scale: np.ndarray,
    q2d: np.ndarray,
    z: np.ndarray,
    s: np.ndarray,
    rtn_err: float,
    steps: int,
) -> AlgorithmResult:
    z = z.astype(np.float32).astype(np.float64)  # the stored (float32) zero point is the one that dequantizes
    q = from_groups(q2d.astype(np.int32), w.shape, spec.granularity, spec.axis, spec.group_size)
    w_dq = from_groups(((q2d - z) * s).astype(w.dtype), w.shape, spec.granularity, spec.axis, spec.group_size)
    zero_point = rows_to_params(z[:, 0].astype(np.float32), w.shape, spec.granularity, spec.axis, spec.group_size)
    err = float(np.mean(np.abs(w.astype(np.float64) - w_dq)))
    info = {"mean_abs_error": err, "rtn_mean_abs_error": rtn_err, "iterations_run": steps}
    return AlgorithmResult(
        "hqq", np.ascontiguousarray(w_dq), np.ascontiguousarray(q), scale, zero_point, spec, info=info
    )
