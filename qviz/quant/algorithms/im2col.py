"""im2col: a 2-D Conv's input as the rows a (out, in) weight multiplies (the algorithms' contract).

A Conv with weight W (O, C, kh, kw), group 1, computes for every output pixel one dot product of
W.reshape(O, -1) with the input patch under the kernel. im2col lays those patches out as rows, in
the same (c, i, j) order as W.reshape(O, -1), so

    conv(x, W).transpose(0, 2, 3, 1).reshape(-1, O) == im2col(x, (kh, kw), ...) @ W.reshape(O, -1).T

pads are ONNX's [top, left, bottom, right] (zeros). Rows: N * OH * OW, one per output pixel,
image-major. Memory: rows * C * kh * kw values; sample rows (rows[::k]) for big inputs.

    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> im2col(x, (2, 2))                   # four 2x2 patches of the 3x3 image
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from qviz.quant.spec import SpecError


def im2col(
    x: npt.ArrayLike,
    kernel_shape: Sequence[int],
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
) -> np.ndarray:
    """Patches of x (N, C, H, W) as rows (N * OH * OW, C * kh * kw)."""
    x = np.asarray(x)
    if x.ndim != 4:
        raise SpecError(f"im2col needs a 4-D input (N, C, H, W); got shape {x.shape}")
    (kh, kw), (sh, sw), (dh, dw) = kernel_shape, strides, dilations
    top, left, bottom, right = pads
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1:
        raise SpecError(f"the kernel {kh}x{kw} does not fit the padded input {xp.shape[2]}x{xp.shape[3]}")
    cols = np.empty((x.shape[0], x.shape[1], kh, kw, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[
                :, :, i * dh : i * dh + sh * (oh - 1) + 1 : sh, j * dw : j * dw + sw * (ow - 1) + 1 : sw
            ]
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(x.shape[0] * oh * ow, -1)
