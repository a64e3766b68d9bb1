"""Cross-layer equalization (CLE) and high-bias absorption (Nagel et al. 2019, "Data-Free
Quantization Through Weight Equalization and Bias Correction", ICCV, sec. 4.1-4.2).

Two layers in a row, y = W2 f(W1 x + b1) + b2, with f = identity, ReLU or ReLU6. For s > 0,
ReLU(v / s) = ReLU(v) / s, so dividing producer channel i (row i of W1 and b1) by s_i and
multiplying consumer input channel i (column i of W2) by s_i changes nothing. With the channel
ranges r1_i = max|W1[i]| and r2_i = max|W2[:, i]|, the choice

    s_i = sqrt(r1_i / r2_i)         -> r1_i / s_i = r2_i * s_i = sqrt(r1_i * r2_i)

gives both layers the same range per channel, which makes per-tensor quantization lose the least
precision (the paper's optimum, eq. 9). Layouts: W1 (C, ...) with its output channels on axis 0
(Gemm (out, in), Conv (O, I, kh, kw), depthwise (C, 1, kh, kw)); W2 (O, C, ...) with its input
channels on axis 1, or a depthwise W2 (C, 1, kh, kw) (consumer_depthwise=True) whose channel i is
row i. Channels with a zero range keep s_i = 1. Batch norm must already be folded into W1, b1.

ReLU6 (the choice made here): the clip point moves with the channel, ReLU6(v) / s = clip(v / s, 0,
6 / s), so the result carries clip_high = 6 / s_i per channel and the model layer must replace the
activation by a per-channel Min (ONNX Clip only takes scalars) or skip the pair.

High-bias absorption (sec. 4.2, with ReLU or identity): if the pre-activation of channel i is
almost always above c_i = max(0, beta_i - 3 gamma_i) (beta_i, gamma_i its mean and standard
deviation: the folded batch norm's shift and scale, or, without batch norm, the statistics of the
producer's output on calibration data, preactivation_stats), then
ReLU(v - c) = ReLU(v) - c and c moves into the consumer's bias:

    b1 <- b1 - c,      b2 <- b2 + W2 @ c        (for a Conv W2: the kernel's sum over space)

which shrinks the activation range the next quantizer sees. (Exact away from a Conv's zero padding.)
The statistics are those of the producer *before* equalization; they are divided by s here.

    >>> w1 = np.array([[4.0, 0.0], [0.0, 0.25]])        # channel ranges 4 and 0.25
    >>> w2 = np.array([[1.0, 1.0]])                      # consumer ranges 1 and 1
    >>> pair = equalize_pair(w1, w2)
    >>> pair.channel_scale                               # sqrt(4 / 1), sqrt(0.25 / 1)
    array([2. , 0.5])
    >>> pair.producer.weight.max(axis=1), pair.consumer.weight   # both ranges now 2 and 0.5
    (array([2. , 0.5]), array([[2. , 0.5]]))
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from qviz.quant.algorithms.algorithm_result import AlgorithmResult, PairResult
from qviz.quant.spec import SpecError

Activation = Literal["identity", "relu", "relu6"]
ACTIVATIONS: tuple[Activation, ...] = ("identity", "relu", "relu6")
RELU6_HIGH = 6.0


def equalize_pair(
    w1: npt.ArrayLike,
    w2: npt.ArrayLike,
    b1: npt.ArrayLike | None = None,
    b2: npt.ArrayLike | None = None,
    activation: Activation = "relu",
    consumer_depthwise: bool = False,
    preact_mean: npt.ArrayLike | None = None,
    preact_std: npt.ArrayLike | None = None,
) -> PairResult:
    """Equalize the pair (and absorb high biases when preact_mean and preact_std are given)."""
    w1, w2 = _as_weight(w1, "producer weight"), _as_weight(w2, "consumer weight")
    if activation not in ACTIVATIONS:
        raise SpecError(
            f"CLE needs an activation that commutes with a positive scale ({', '.join(ACTIVATIONS)}); got {activation!r}"
        )
    n = w1.shape[0]
    _check_consumer(w2, n, consumer_depthwise)
    b1v, b2v = _as_bias(b1, n, "producer bias"), _as_bias(b2, w2.shape[0], "consumer bias")
    r1, r2 = channel_ranges(w1, 0), channel_ranges(w2, 0 if consumer_depthwise else 1)
    live = (r1 > 0) & (r2 > 0)
    s = np.ones(n)
    s[live] = np.sqrt(r1[live] / r2[live])
    new_w1 = w1 / _along(s, 0, w1.ndim)
    new_w2 = w2 * _along(s, 0 if consumer_depthwise else 1, w2.ndim)
    new_b1 = b1v / s if b1v is not None else None
    info: dict[str, Any] = {
        "ranges_before": (r1, r2),
        "ranges_after": (channel_ranges(new_w1, 0), channel_ranges(new_w2, 0 if consumer_depthwise else 1)),
    }
    clip_high = RELU6_HIGH / s if activation == "relu6" else None
    new_b2 = b2v
    if preact_mean is not None or preact_std is not None:
        if activation == "relu6":
            raise SpecError(
                "high-bias absorption is not exact through ReLU6 (the clip point would move); use relu or identity"
            )
        new_b1, new_b2, c = _absorb(new_w2, new_b1, b2v, s, preact_mean, preact_std, consumer_depthwise)
        info["absorbed"] = c
    producer = AlgorithmResult("cle", new_w1, bias=new_b1, info=info)
    consumer = AlgorithmResult("cle", new_w2, bias=new_b2, info=info)
    return PairResult(producer, consumer, s, clip_high, info)


def channel_ranges(w: np.ndarray, axis: int) -> np.ndarray:
    """max |w| over everything but `axis` (float64): the range of each channel."""
    ranges: np.ndarray = np.abs(np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)).max(axis=1).astype(np.float64)
    return ranges


def preactivation_stats(y: npt.ArrayLike, channel_axis: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) per channel of the producer's output on calibration data (N, C, ...) or (N, C)."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim < 2 or y.size == 0:
        raise SpecError(f"pre-activation statistics need calibration outputs of shape (N, C, ...); got {y.shape}")
    flat = np.moveaxis(y, channel_axis, 0).reshape(y.shape[channel_axis], -1)
    return flat.mean(axis=1), flat.std(axis=1)


def _absorb(
    w2: np.ndarray,
    b1: np.ndarray | None,
    b2: np.ndarray | None,
    s: np.ndarray,
    mean: npt.ArrayLike | None,
    std: npt.ArrayLike | None,
    depthwise: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """c = max(0, mean/s - 3 std/s); b1 - c and b2 + W2 c (kernel summed over space)."""
    n = s.shape[0]
    if mean is None or std is None:
        raise SpecError("high-bias absorption needs both the pre-activation mean and std (batch norm shift and scale)")
    mean_v, std_v = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (mean, std))
    if mean_v.shape != (n,) or std_v.shape != (n,):
        raise SpecError(f"pre-activation mean and std need {n} channels; got {mean_v.shape} and {std_v.shape}")
    c = np.maximum(0.0, (mean_v - 3.0 * np.abs(std_v)) / s)
    new_b1 = (b1 if b1 is not None else np.zeros(n)) - c
    shift = w2.reshape(n, -1).sum(axis=1) * c if depthwise else w2.reshape(w2.shape[0], n, -1).sum(axis=2) @ c
    new_b2 = (b2 if b2 is not None else np.zeros(w2.shape[0])) + shift
    return new_b1, new_b2, c


def _as_weight(w: npt.ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(w)
    if arr.dtype.kind not in "iuf" or arr.ndim < 2 or arr.size == 0:
        raise SpecError(f"the {name} must be a real array with at least 2 dimensions; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise SpecError(f"the {name} holds NaN or infinite values")
    return arr.astype(np.float64)


def _as_bias(b: npt.ArrayLike | None, n: int, name: str) -> np.ndarray | None:
    if b is None:
        return None
    arr = np.asarray(b, dtype=np.float64).reshape(-1)
    if arr.shape != (n,):
        raise SpecError(f"the {name} must have {n} values; got {arr.shape[0]} (shape mismatch)")
    return arr


def _check_consumer(w2: np.ndarray, n: int, depthwise: bool) -> None:
    if depthwise and (w2.shape[0] != n or w2.shape[1] != 1):
        raise SpecError(f"a depthwise consumer has shape ({n}, 1, ...) for {n} producer channels; got {w2.shape}")
    if not depthwise and w2.shape[1] != n:
        raise SpecError(
            f"the consumer takes {w2.shape[1]} input channels but the producer makes {n} (shape mismatch;"
            " a grouped consumer other than depthwise is not supported)"
        )


def _along(v: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    """v shaped to broadcast along `axis` of an ndim-d array."""
    shape = [1] * ndim
    shape[axis] = v.shape[0]
    return v.reshape(shape)
