"""The quantization engine: numpy only (no onnx, plotly or streamlit here).

    >>> from qviz.quant import QuantSpec, quantize
    >>> w = np.random.default_rng(0).normal(size=(4, 64)).astype(np.float32)
    >>> r = quantize(w, QuantSpec(bits=4, granularity="group", axis=1, group_size=32))
    >>> r.q.shape, int(r.q.min()), int(r.q.max()), r.scale.shape   # int4 codes, one scale per 32 values
    ((4, 64), -8, 7, (4, 2))
    >>> round(r.mse, 4)                  # mean squared error of r.x_dq (the dequantized w) against w
    0.0093

quantize() dispatches on spec.scheme; the lower-level pieces (ONNX QuantizeLinear semantics,
float-format casts) are exported for the model layer and the benchmarks.
"""

from qviz.quant.affine import dequantize_linear, fake_quantize, quantize_linear
from qviz.quant.api import dequantize, quantize
from qviz.quant.floats import cast_to_float
from qviz.quant.result import QuantResult
from qviz.quant.spec import QuantSpec, SpecError

__all__ = [
    "QuantResult",
    "QuantSpec",
    "SpecError",
    "cast_to_float",
    "dequantize",
    "dequantize_linear",
    "fake_quantize",
    "quantize",
    "quantize_linear",
]
