"""The quantization engine: numpy only (no onnx, plotly or streamlit here)."""

from .result import QuantResult
from .spec import QuantSpec, SpecError

__all__ = ["QuantResult", "QuantSpec", "SpecError"]
