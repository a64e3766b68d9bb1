"""AlgorithmResult: what one quantization algorithm did to one layer, in a form the model can deploy.

Every algorithm in qviz.quant.algorithms returns one (CLE returns a pair, see cle.py). The layer
computes y = (x / input_scale) @ weight.T + bias afterwards:

    weight        the layer's new float weight: the dequantized codes when the algorithm
                  quantized (x_dq of q, scale, zero_point), else the rescaled float weight
    q, scale, zero_point, spec
                  the integer codes on qviz.quant's grid (int32, in [spec.qmin, spec.qmax]) and
                  their ONNX-layout parameters, so the model layer can write QuantizeLinear /
                  DequantizeLinear (or MatMulNBits) exactly as for a plain quantize(); None when
                  nothing was quantized. HQQ's zero point is a float (see hqq.py).
    bias          the layer's new bias; None when the algorithm leaves the bias alone
    input_scale   per input channel: the producer of x must divide its output by it (SmoothQuant,
                  AWQ); None when x is unchanged
    info          algorithm-specific numbers for the UI (alpha, flips against nearest rounding,
                  error per candidate, ...): plain floats, ints, lists and arrays

    >>> r = AlgorithmResult("demo", weight=np.array([[2.0, 4.0]]), input_scale=np.array([2.0, 4.0]))
    >>> r.effective_weight()        # what multiplies the *original* x: weight / input_scale
    array([[1., 1.]])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qviz.quant.spec import QuantSpec


class AlgorithmCancelled(Exception):
    """The cancel check of a long-running algorithm returned True; nothing was changed."""


@dataclass(frozen=True, eq=False)
class AlgorithmResult:
    """One algorithm's outcome for one layer (fields in the module docstring)."""

    algorithm: str
    weight: np.ndarray
    q: np.ndarray | None = None
    scale: np.ndarray | None = None
    zero_point: np.ndarray | None = None
    spec: QuantSpec | None = None
    bias: np.ndarray | None = None
    input_scale: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def effective_weight(self) -> np.ndarray:
        """The weight seen by the layer's original input: weight / input_scale (per input channel)."""
        if self.input_scale is None:
            return self.weight
        shape = (1, -1) + (1,) * (self.weight.ndim - 2)
        out: np.ndarray = self.weight / self.input_scale.reshape(shape)
        return out


@dataclass(frozen=True, eq=False)
class PairResult:
    """Cross-layer equalization of two layers: both new layers, the channel scales, the clip bounds.

    producer, consumer  the two layers after the rescaling (float, not quantized)
    channel_scale       s, shape (C,): producer channel i divided by s_i, consumer channel i times s_i
    clip_high           ReLU6 only: the new per-channel upper clip bound 6 / s_i; else None
    info                ranges before/after, absorbed bias
    """

    producer: AlgorithmResult
    consumer: AlgorithmResult
    channel_scale: np.ndarray
    clip_high: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)
