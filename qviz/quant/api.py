"""quantize(x, spec): the one entry point of the quantization engine.

    >>> r = quantize([0.5, -1.0, 1.0], QuantSpec(bits=8, signed=False, symmetric=False))
    >>> r.q
    array([191,   0, 254], dtype=int32)
    >>> r.x_dq
    array([ 0.5019608, -0.9960785,  0.9960785], dtype=float32)

(scale 2/255 and zero point 127: the grid is [-0.996, 1.004], so -1 and 1 each lose a bit.)

Input rules (each one is tested in tests/quant/test_quantize_api.py):
- x may be anything np.asarray accepts that holds real numbers: lists, scalars, bool, int,
  float16, float32, float64 arrays. Lists, scalars, bool and int become float32 (the type
  models run in); float16 becomes float32 (exactly). Other dtypes (complex, str, object) and
  ragged lists are a SpecError.
- output dtype: x_dq is float64 for float64 x, else float32; q is int32 (or None).
- shapes: 0-d works per-tensor (per-channel/per-group need >= 1 dimension: SpecError); empty
  arrays give empty results with scale 1; axis and group_size are validated for every
  scheme (SpecError naming the axis length and the group sizes that divide it).
- constant and all-zero tensors: the range is widened to include 0 and a range narrower than
  float32's tiny gets scale 1 (qparams.py), so nothing divides by zero and 0 stays exact.
- huge / tiny magnitudes: float64 values beyond float32's range saturate (the scale is capped
  at 2**127); magnitudes below float32's tiny (~1.2e-38) get scale 1 and quantize to 0.

Non-finite values (the rule, matching what an onnxruntime QuantizeLinear does with them):
- range estimators ignore NaN and +-Inf, so they never spoil the scale of the other values;
- scheme=int: +Inf gets code qmax, -Inf code qmin, NaN code qmin (onnxruntime's choice),
  so x_dq holds the grid's ends there, a finite number, never NaN;
- scheme=float: NaN stays NaN and +-Inf follow the format (float8 saturates, see floats.py);
- the error statistics of the result (clipped_fraction, clip_mse, round_mse) leave them out.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from qviz.quant.granularity import check_granularity
from qviz.quant.result import QuantResult
from qviz.quant.spec import QuantSpec, Scheme, SpecError


def quantize(x: npt.ArrayLike, spec: QuantSpec) -> QuantResult:
    """Quantize x with spec; the module docstring states the input and non-finite rules."""
    if not isinstance(spec, QuantSpec):
        raise SpecError(f"spec must be a QuantSpec; got {type(spec).__name__}")
    x = as_input(x)
    if spec.granularity != "tensor":
        check_granularity(x.shape, spec.granularity, spec.axis, spec.group_size)
    return _quantizer(spec.scheme)(x, spec)


def dequantize(result: QuantResult) -> np.ndarray:
    """x_dq again from the codes (scheme=int: (q - zero_point) * scale); else result.x_dq."""
    q, scale, zero_point = result.q, result.scale, result.zero_point
    if result.spec.scheme != "int" or q is None or scale is None or zero_point is None:  # (quantize_int sets all 3)
        return result.x_dq
    from qviz.quant.affine import dequantize_linear, onnx_layout

    axis, block_size = onnx_layout(result.spec)
    return dequantize_linear(q, scale, zero_point, axis, block_size, dtype=result.x_dq.dtype)


def as_input(x: npt.ArrayLike) -> np.ndarray:
    """x as a float32 or float64 array (rules in the module docstring)."""
    if isinstance(x, np.ndarray) and x.dtype in (np.float32, np.float64):
        return x
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as err:
        raise SpecError(f"x must be an array of real numbers; {err}") from None
    if arr.dtype.kind not in "biuf":
        raise SpecError(f"x must hold real numbers (bool, int or float); got dtype {arr.dtype}")
    keep64 = isinstance(x, np.ndarray) and arr.dtype.kind == "f" and arr.dtype.itemsize > 4
    return arr.astype(np.float64 if keep64 else np.float32)


def _quantizer(scheme: Scheme) -> Callable[[np.ndarray, QuantSpec], QuantResult]:
    """The quantize function of a scheme, imported lazily (each lives in its own module)."""
    if scheme == "int":
        from qviz.quant.affine import quantize_int

        return quantize_int
    if scheme == "float":
        from qviz.quant.floats import quantize_float

        return quantize_float
    if scheme == "log":
        from qviz.quant.log import quantize_log

        return quantize_log
    if scheme == "kmeans":
        from qviz.quant.kmeans import quantize_kmeans

        return quantize_kmeans
    from qviz.quant.fixed_point import quantize_fixed_point

    return quantize_fixed_point
