"""The weight layout and the integer grid every algorithm shares: the contract with the model layer.

Layout: a weight is a 2-D matrix w of shape (out_features, in_features) and the layer computes
y = x @ w.T (+ bias) on calibration rows x of shape (rows, in_features). The model layer passes
- ONNX MatMul's B (K, N) as B.T (so its blocks along K are groups along axis 1 here);
- Gemm's B as is with transB=1, transposed with transB=0;
- Conv's W (O, C, kh, kw) as W.reshape(O, -1), with x the im2col rows of the layer's input
  (im2col.py: columns in (c, kh, kw) order, one row per output pixel).

Grid: an int QuantSpec whose granularity is tensor, channel along axis 0 (one scale per output
channel) or group along axis 1 (blocks of group_size input channels, as MatMulNBits). Scale and
zero point come from qviz.quant.quantize (same estimator, same qparams rules) and codes from
quantize_linear, so an algorithm that only changes rounding decisions lands on the same grid,
with the same scale, as plain round-to-nearest (RTN).

    >>> from qviz.quant import QuantSpec
    >>> spec = check_grid_spec(QuantSpec(bits=4, granularity="group", axis=-1, group_size=2), (3, 4))
    >>> spec.axis, spread(np.array([[1.0, 2.0]] * 3), (3, 4), spec)[0]
    (1, array([1., 1., 2., 2.]))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qviz.quant.affine import dequantize_linear, onnx_layout, quantize_linear
from qviz.quant.api import quantize
from qviz.quant.granularity import check_granularity
from qviz.quant.spec import QuantSpec, SpecError


def as_matrix(w: npt.ArrayLike, name: str = "weight") -> np.ndarray:
    """w as a finite float32/float64 2-D array (out_features, in_features); SpecError otherwise."""
    arr = np.asarray(w)
    if arr.dtype.kind not in "iuf":
        raise SpecError(f"{name} must hold real numbers; got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.size == 0:
        raise SpecError(
            f"{name} must be a non-empty 2-D matrix (out_features, in_features); got shape {arr.shape}"
            " (a Conv weight is passed as W.reshape(O, -1), a MatMul weight as B.T)"
        )
    if not np.all(np.isfinite(arr)):
        raise SpecError(f"{name} holds NaN or infinite values")
    return arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float32)


def as_rows(x: npt.ArrayLike | None, in_features: int, algorithm: str) -> np.ndarray:
    """Calibration rows (rows, in_features), finite; SpecError naming the algorithm otherwise."""
    if x is None:
        raise SpecError(f"{algorithm} needs calibration inputs (rows, {in_features}); none were given")
    arr = np.asarray(x)
    if arr.dtype.kind not in "iuf" or arr.ndim != 2:
        raise SpecError(
            f"{algorithm}: calibration inputs must be a 2-D real matrix (rows, {in_features}); got {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise SpecError(f"{algorithm} needs calibration inputs; got 0 rows")
    if arr.shape[1] != in_features:
        raise SpecError(
            f"{algorithm}: calibration inputs have {arr.shape[1]} features but the weight has "
            f"{in_features} input features (shape mismatch)"
        )
    if not np.all(np.isfinite(arr)):
        raise SpecError(f"{algorithm}: calibration inputs hold NaN or infinite values")
    return arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float32)


def check_grid_spec(spec: QuantSpec, shape: tuple[int, ...]) -> QuantSpec:
    """spec, checked for a 2-D weight: scheme int, tensor | channel on axis 0 | group on axis 1."""
    if not isinstance(spec, QuantSpec):
        raise SpecError(f"spec must be a QuantSpec; got {type(spec).__name__}")
    if spec.scheme != "int":
        raise SpecError(f"these algorithms produce integer codes: scheme must be int; got {spec.scheme}")
    if spec.granularity == "tensor":
        return spec
    axis = check_granularity(shape, spec.granularity, spec.axis, spec.group_size)
    want = 0 if spec.granularity == "channel" else 1
    if axis != want:
        what = "per output channel (axis 0)" if want == 0 else "groups of input channels (axis 1)"
        raise SpecError(f"granularity {spec.granularity} must be {what} for a (out, in) weight; got axis {spec.axis}")
    return spec.replace(axis=axis)


@dataclass(frozen=True, eq=False)
class RtnGrid:
    """Round-to-nearest of a weight: codes, ONNX-layout scale and zero point, dequantized weight."""

    q: np.ndarray
    scale: np.ndarray
    zero_point: np.ndarray
    x_dq: np.ndarray


def rtn(w: np.ndarray, spec: QuantSpec) -> RtnGrid:
    """Plain round-to-nearest: the reference every algorithm is compared with (qviz.quant.quantize)."""
    r = quantize(w, spec)
    if r.q is None or r.scale is None or r.zero_point is None:  # scheme=int always sets all three
        raise SpecError(f"round-to-nearest of scheme {spec.scheme} gave no integer codes")
    return RtnGrid(r.q, r.scale, r.zero_point, r.x_dq)


def spread(param: np.ndarray, shape: tuple[int, ...], spec: QuantSpec) -> np.ndarray:
    """An ONNX-layout scale / zero point broadcast to the full weight shape (one value per weight)."""
    param = np.asarray(param)
    if spec.granularity == "tensor":
        return np.broadcast_to(param.reshape(1, 1), shape)
    if spec.granularity == "channel":
        return np.broadcast_to(param.reshape(-1, 1), shape)
    return np.repeat(param, spec.group_size, axis=1)


def codes(w: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, spec: QuantSpec) -> np.ndarray:
    """Nearest codes of w on the grid (scale, zero_point): quantize_linear, ONNX semantics."""
    axis, block_size = onnx_layout(spec)
    return quantize_linear(w, scale, zero_point, spec.qmin, spec.qmax, axis, block_size)


def dequantize_codes(
    q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, spec: QuantSpec, dtype: npt.DTypeLike
) -> np.ndarray:
    """(q - zero_point) * scale in the ONNX layout of spec, as `dtype`."""
    axis, block_size = onnx_layout(spec)
    return dequantize_linear(q, scale, zero_point, axis, block_size, dtype=dtype)


def output_mse(x: np.ndarray, w_ref: np.ndarray, w_new: np.ndarray) -> float:
    """Mean squared error of the layer's output x @ w.T with w_new against w_ref (float64)."""
    diff = x.astype(np.float64) @ (w_new.astype(np.float64) - w_ref.astype(np.float64)).T
    return float(np.mean(np.square(diff)))


def check_grid_values(values: npt.ArrayLike, name: str, low: float, high: float) -> np.ndarray:
    """A non-empty 1-D grid of numbers in [low, high] (alphas of SmoothQuant / AWQ)."""
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 0 or not np.all(np.isfinite(arr)) or arr.min() < low or arr.max() > high:
        raise SpecError(f"{name} must be a non-empty list of numbers in [{low}, {high}]; got {values!r}")
    return arr


def check_count(value: object, name: str, minimum: int = 1) -> int:
    """An integer >= minimum (iterations, block size, ...); SpecError otherwise."""
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= minimum):
        raise SpecError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return value
