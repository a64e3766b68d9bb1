"""Granularity: which values share one scale and zero point.

Every estimator and quantizer works on a 2-D view `x2d` of shape [G, N]: one row per
scale entry (G groups of N values). Parameters computed per row are then laid out the
way ONNX expects them for QuantizeLinear/DequantizeLinear:

    tensor    scale shape ()                       x2d = x.reshape(1, -1)
    channel   scale shape (C,)   C = x.shape[axis] x2d row c = x.take(c, axis).ravel()
    group     scale shape = x.shape with shape[axis] // group_size at axis (ONNX blocked)

Example: W of shape (64, 128), group along axis 1 with group_size 32 -> scale (64, 4),
x2d (256, 32).

# NOTE: group_size must divide the axis length. ONNX allows a partial last block, but a
# ragged last group would make every estimator handle a special case; the model layer
# picks a group size that divides (or per-channel) instead.
"""

from __future__ import annotations

import numpy as np

from qviz.quant.spec import Granularity, SpecError


def normalize_axis(axis: int, ndim: int) -> int:
    """axis in [-ndim, ndim) -> [0, ndim); anything else is a SpecError naming the shape."""
    if ndim == 0:
        raise SpecError(
            "per-channel and per-group quantization need a tensor with at least 1 dimension; got a 0-d scalar"
        )
    if not -ndim <= axis < ndim:
        raise SpecError(f"axis must be in {-ndim}..{ndim - 1} for a {ndim}-d tensor; got {axis}")
    return axis % ndim


def check_granularity(shape: tuple[int, ...], granularity: Granularity, axis: int, group_size: int) -> int:
    """Validate and return the normalized axis (0 for per-tensor)."""
    if granularity == "tensor":
        return 0
    axis = normalize_axis(axis, len(shape))
    if granularity == "group" and shape[axis] % group_size != 0:
        raise SpecError(
            f"group_size must divide the length of axis {axis} ({shape[axis]}); got {group_size}. "
            f"Divisors that work: {', '.join(str(d) for d in _divisors(shape[axis]))}"
        )
    return axis


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0][:12]


def param_shape(shape: tuple[int, ...], granularity: Granularity, axis: int, group_size: int) -> tuple[int, ...]:
    """Shape of scale / zero_point in ONNX layout."""
    axis = check_granularity(shape, granularity, axis, group_size)
    if granularity == "tensor":
        return ()
    if granularity == "channel":
        return (shape[axis],)
    return (*shape[:axis], shape[axis] // group_size, *shape[axis + 1 :])


def to_groups(x: np.ndarray, granularity: Granularity, axis: int = 0, group_size: int = 32) -> np.ndarray:
    """x -> [G, N] with one row per scale entry (a view when the layout allows, else a copy)."""
    axis = check_granularity(x.shape, granularity, axis, group_size)
    if granularity == "tensor":
        return x.reshape(1, -1)
    if granularity == "channel":
        return np.moveaxis(x, axis, 0).reshape(x.shape[axis], -1)
    return np.moveaxis(x, axis, -1).reshape(-1, group_size)


def from_groups(
    x2d: np.ndarray, shape: tuple[int, ...], granularity: Granularity, axis: int = 0, group_size: int = 32
) -> np.ndarray:
    """Inverse of to_groups: [G, N] -> tensor of `shape`."""
    axis = check_granularity(shape, granularity, axis, group_size)
    if granularity == "tensor":
        return x2d.reshape(shape)
    moved = list(shape)
    moved.append(moved.pop(axis)) if granularity == "group" else moved.insert(0, moved.pop(axis))
    target = -1 if granularity == "group" else 0
    return np.moveaxis(x2d.reshape(moved), target, axis)


def rows_to_params(
    values: np.ndarray, shape: tuple[int, ...], granularity: Granularity, axis: int = 0, group_size: int = 32
) -> np.ndarray:
    """Per-row values [G] -> ONNX-layout parameter array (see param_shape)."""
    values = np.asarray(values)
    pshape = param_shape(shape, granularity, axis, group_size)
    if granularity != "group":
        return values.reshape(pshape)
    axis = normalize_axis(axis, len(shape))
    moved = pshape[:axis] + pshape[axis + 1 :] + (pshape[axis],)
    return np.moveaxis(values.reshape(moved), -1, axis)


def params_to_rows(param: np.ndarray, granularity: Granularity, axis: int = 0) -> np.ndarray:
    """ONNX-layout parameter array -> per-row values [G] (inverse of rows_to_params)."""
    param = np.asarray(param)
    if granularity == "group":
        return np.moveaxis(param, axis % param.ndim, -1).reshape(-1)
    return param.reshape(-1)
