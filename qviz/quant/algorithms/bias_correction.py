"""Empirical bias correction (Nagel et al. 2019, "Data-Free Quantization Through Weight
Equalization and Bias Correction", ICCV, sec. 4.2, eq. 12-13; the empirical variant of AIMET).

Quantizing a weight adds an error dW = W_q - W, and the layer's output moves on average by

    E[y_q - y] = dW @ E[x]

which is not zero in general (rounding errors do not cancel per output channel once the inputs
have a non-zero mean, e.g. after a ReLU). Subtracting it from the bias removes the shift:

    b_corrected = b - dW @ E[x]          (a layer without a bias gets b = -dW @ E[x])

E[x] is estimated on calibration inputs: the mean of the rows x (rows, in) for a (out, in)
weight, or for a Conv (O, C, kh, kw) the mean input per channel (C,) (then dW is summed over the
kernel: exact away from zero padding). For a depthwise Conv (C, 1, kh, kw) pass depthwise=True.

    >>> w, w_q = np.array([[1.0, 2.0]]), np.array([[1.5, 2.0]])    # dW = [0.5, 0]
    >>> x = np.array([[2.0, 1.0], [4.0, 3.0]])                       # E[x] = [3, 2]
    >>> correct_bias(w, w_q, x=x, bias=np.array([1.0])).bias         # 1 - 0.5 * 3
    array([-0.5])
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qviz.quant.algorithms.algorithm_result import AlgorithmResult
from qviz.quant.algorithms.weight_grid import as_rows
from qviz.quant.spec import SpecError


def correct_bias(
    w: npt.ArrayLike,
    w_q: npt.ArrayLike,
    x: npt.ArrayLike | None = None,
    bias: npt.ArrayLike | None = None,
    input_mean: npt.ArrayLike | None = None,
    depthwise: bool = False,
) -> AlgorithmResult:
    """The corrected bias of a layer whose weight w became w_q; info: the shift dW @ E[x]."""
    w64, wq64 = np.asarray(w, dtype=np.float64), np.asarray(w_q, dtype=np.float64)
    if w64.shape != wq64.shape or w64.ndim < 2:
        raise SpecError(
            f"bias correction needs the float and quantized weights with one shape (>= 2-D); got {w64.shape} and {wq64.shape}"
        )
    mean = _input_mean(w64, x, input_mean, depthwise)
    dw = wq64 - w64
    if depthwise:
        shift = dw.reshape(w64.shape[0], -1).sum(axis=1) * mean
    else:
        shift = dw.reshape(w64.shape[0], mean.shape[0], -1).sum(axis=2) @ mean
    old = np.zeros(w64.shape[0]) if bias is None else np.asarray(bias, dtype=np.float64).reshape(-1)
    if old.shape != (w64.shape[0],):
        raise SpecError(f"the bias must have {w64.shape[0]} values (one per output channel); got {old.shape[0]}")
    info = {"bias_shift": -shift, "created_bias": bias is None}
    return AlgorithmResult("bias_correction", np.asarray(w_q), bias=old - shift, info=info)


def _input_mean(
    w: np.ndarray, x: npt.ArrayLike | None, input_mean: npt.ArrayLike | None, depthwise: bool
) -> np.ndarray:
    """E[x] per input channel: from calibration rows x, or given."""
    channels = w.shape[0] if depthwise else w.shape[1]
    if input_mean is not None:
        mean = np.asarray(input_mean, dtype=np.float64).reshape(-1)
        if mean.shape != (channels,):
            raise SpecError(
                f"input_mean needs {channels} values (one per input channel); got {mean.shape[0]} (shape mismatch)"
            )
        return mean
    if w.ndim != 2 or depthwise:
        raise SpecError("bias correction of a Conv weight needs input_mean (the mean input per channel)")
    rows_mean: np.ndarray = as_rows(x, channels, "bias correction").mean(axis=0, dtype=np.float64)
    return rows_mean
