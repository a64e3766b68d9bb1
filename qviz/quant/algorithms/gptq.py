"""GPTQ: quantize a weight column by column, pushing each column's rounding error onto the columns
not yet quantized through the inverse Hessian (Frantar et al. 2023, "GPTQ: Accurate Post-Training
Quantization for Generative Pre-trained Transformers", ICLR, Algorithm 1).

The layer's output error on calibration rows x (n, in) is a quadratic form in the weight error:
mean over rows of ||x dW.T||**2 = sum over output rows r of dW_r H dW_r.T / 2, with the Hessian

    H = 2/n * x.T @ x + lambda * I,        lambda = percdamp * mean(diag(H))    (dampening)

Optimal Brain Quantization for one output row w, column q (in the order chosen):

    err      = (w_q - Q(w_q)) / [H_F^-1]_qq          (F: the columns not quantized yet)
    w_F     -= err * [H_F^-1]_{q, F}                 (the columns after q absorb the error)
    H_F^-1  <- H_F^-1 with q eliminated (one Gaussian elimination step)

With U = the upper Cholesky factor of H^-1 (H^-1 = U.T @ U), row q of U is [H_F^-1]_{q,F} / sqrt of
its pivot at the moment q comes up, so err = (w_q - Q(w_q)) / U_qq and w_F -= err * U_{q,F} do the
same with one factorization (tests/quant/algorithms/test_gptq.py checks it against the loop).
Lazy batch updates: columns are processed in blocks of block_size; inside a block the updates go
to the block only, and the rest of the matrix gets one matrix product per block (same result).

Group-wise scales (as the reference implementation, gptq.py of IST-DASLab/gptq): the scale and
zero point of a group are computed (spec.estimator, qviz's qparams rules) when its first column
comes up, from the weight as updated so far. # NOTE: as in the reference, the columns of the
current block hold their values from the block's start there (the reference reads W, not W1).
act_order: columns are visited in order of decreasing diag(H) and un-permuted at the end; with
groups the scales are then computed up front from the original weight (the reference's
`static_groups`), so group g is still input columns g*group_size.. (ONNX blocked / MatMulNBits).
Columns no calibration row ever excites (diag(H) = 0) get H_qq = 1; the reference also zeroes
their weights, which this does not (inputs outside the calibration set still meet them).

Example: when x.T @ x is diagonal there is nothing to push the error onto and GPTQ is RTN:

    >>> from qviz.quant import QuantSpec, quantize
    >>> w = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
    >>> spec = QuantSpec(bits=4, granularity="channel", axis=0)
    >>> r = gptq(w, 3.0 * np.eye(8), spec)
    >>> bool(np.array_equal(r.q, quantize(w, spec).q)), r.info["changed_codes"]
    (True, 0)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qviz.quant.algorithms.algorithm_result import AlgorithmResult
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
from qviz.quant.qparams import qparams_from_range
from qviz.quant.ranges import estimate_range
from qviz.quant.spec import QuantSpec, SpecError

W4_G128 = QuantSpec(bits=4, symmetric=False, granularity="group", axis=1, group_size=128)


def hessian(x: np.ndarray) -> np.ndarray:
    """H = 2/n * x.T @ x (float64), the reference's running average over n calibration rows."""
    x64 = x.astype(np.float64)
    h: np.ndarray = 2.0 / x.shape[0] * (x64.T @ x64)
    return h


def inverse_hessian_factor(h: np.ndarray, percdamp: float) -> np.ndarray:
    """U, upper triangular with U.T @ U = (H + lambda I)^-1; dead columns get H_qq = 1 first.

    One Cholesky of H with its index order reversed (J H J = L L.T, J the reversal): then
    H^-1 = (J L^-1 J).T @ (J L^-1 J) and U = J L^-1 J is upper triangular with a positive diagonal,
    the factor the reference gets from cholesky(cholesky_inverse(cholesky(H)), upper=True).
    """
    h = h.copy()
    dead = np.diag(h) == 0
    h[dead, dead] = 1.0
    h[np.diag_indices_from(h)] += percdamp * np.mean(np.diag(h))
    try:
        lower = np.linalg.cholesky(h[::-1, ::-1])
    except np.linalg.LinAlgError:
        raise SpecError(
            f"GPTQ: the Hessian is not positive definite even with percdamp={percdamp}; raise percdamp"
        ) from None
    return np.ascontiguousarray(invert_lower(lower)[::-1, ::-1])


def invert_lower(lower: np.ndarray) -> np.ndarray:
    """Inverse of a lower triangular matrix by 2x2 blocks (matrix products only, no LU).

    [[A, 0], [C, D]]^-1 = [[A^-1, 0], [-D^-1 C A^-1, D^-1]]
    """
    n = lower.shape[0]
    if n <= 64:
        return np.linalg.inv(lower)
    k = n // 2
    a_inv, d_inv = invert_lower(lower[:k, :k]), invert_lower(lower[k:, k:])
    out = np.zeros_like(lower)
    out[:k, :k], out[k:, k:] = a_inv, d_inv
    out[k:, :k] = -d_inv @ (lower[k:, :k] @ a_inv)
    return out


def gptq(
    w: npt.ArrayLike,
    x: npt.ArrayLike,
    spec: QuantSpec = W4_G128,
    percdamp: float = 0.01,
    block_size: int = 128,
    act_order: bool = False,
) -> AlgorithmResult:
    """GPTQ codes of w (out, in) for calibration rows x (rows, in); info: changed codes, errors."""
    w = as_matrix(w)
    x = as_rows(x, w.shape[1], "GPTQ")
    spec = check_grid_spec(spec, w.shape)
    check_count(block_size, "block_size")
    if not (isinstance(percdamp, (int, float)) and percdamp >= 0.0):
        raise SpecError(f"percdamp must be a number >= 0; got {percdamp!r}")
    h = hessian(x)
    perm = np.argsort(-np.diag(h), kind="stable") if act_order else np.arange(w.shape[1])
    u = inverse_hessian_factor(h[np.ix_(perm, perm)], percdamp)
    plain = rtn(w, spec)
    static = spec.granularity != "group" or act_order
    sweep = _Sweep(w, spec, perm, plain.scale, plain.zero_point, static)
    sweep.run(u, block_size)
    q = sweep.q[:, np.argsort(perm)]
    scale, zero_point = sweep.params()
    w_dq = dequantize_codes(q, scale, zero_point, spec, w.dtype)
    info = {
        "changed_codes": int(np.count_nonzero(q != plain.q)),
        "same_grid_as_rtn": bool(np.array_equal(scale, plain.scale) and np.array_equal(zero_point, plain.zero_point)),
        "output_mse": output_mse(x, w, w_dq),
        "rtn_output_mse": output_mse(x, w, plain.x_dq),
        "act_order": act_order,
        "percdamp": float(percdamp),
    }
    return AlgorithmResult("gptq", w_dq, q, scale, zero_point, spec, info=info)


class _Sweep:
    """The column sweep's state: the permuted weight, transposed (in, out) so a column is a
    contiguous row; its codes; the scale / zero point of every weight (one row per column)."""

    def __init__(
        self, w: np.ndarray, spec: QuantSpec, perm: np.ndarray, scale: np.ndarray, zp: np.ndarray, static: bool
    ):
        self.spec, self.perm, self.static, self.dtype = spec, perm, static, w.dtype
        self.wt = np.ascontiguousarray(w.T[perm], dtype=np.float64)
        self.qt = np.zeros(self.wt.shape, dtype=np.int32)
        self.scale_t = np.ascontiguousarray(spread(scale, w.shape, spec).T[perm], dtype=w.dtype)
        self.zp_t = np.ascontiguousarray(spread(zp, w.shape, spec).T[perm], dtype=np.int32)

    @property
    def q(self) -> np.ndarray:
        return self.qt.T

    def run(self, u: np.ndarray, block_size: int) -> None:
        n = self.wt.shape[0]
        for i1 in range(0, n, block_size):
            i2 = min(i1 + block_size, n)
            block = self.wt[i1:i2].copy()
            err = np.zeros_like(block)
            for i in range(i2 - i1):
                j = i1 + i
                if not self.static and j % self.spec.group_size == 0:
                    self._group_params(j)
                err[i] = block[i] - self._quantize_column(block[i], j)
                err[i] /= u[j, j]
                block[i:] -= u[j, j:i2, None] * err[i]
            self.wt[i2:] -= u[i1:i2, i2:].T @ err

    def _quantize_column(self, col: np.ndarray, j: int) -> np.ndarray:
        """Nearest code of each row's value (divided in the weight's float type, as quantize_linear)."""
        s, z = self.scale_t[j], self.zp_t[j]
        code = np.rint(col.astype(self.dtype) / s)
        code += z
        np.clip(code, self.spec.qmin, self.spec.qmax, out=code)
        self.qt[j] = code
        code -= z
        dq: np.ndarray = code.astype(np.float64) * s
        return dq

    def _group_params(self, j: int) -> None:
        """Scale / zero point of the group starting at column j from the current weight (no act_order)."""
        g = self.spec.group_size
        lo, hi = estimate_range(self.wt[j : j + g].T.astype(self.dtype), self.spec)
        s, z = qparams_from_range(lo, hi, self.spec.qmin, self.spec.qmax, self.spec.symmetric, self.spec.pow2_scale)
        self.scale_t[j : j + g] = s
        self.zp_t[j : j + g] = z

    def params(self) -> tuple[np.ndarray, np.ndarray]:
        """The ONNX-layout scale and zero point (un-permuted)."""
        inv = np.argsort(self.perm)
        scale, zp = self.scale_t[inv].T, self.zp_t[inv].T
        if self.spec.granularity == "tensor":
            return scale[0, 0].reshape(()).copy(), zp[0, 0].reshape(()).copy()
        if self.spec.granularity == "channel":
            return scale[:, 0].copy(), zp[:, 0].copy()
        g = self.spec.group_size
        return scale[:, ::g].copy(), zp[:, ::g].copy()
