"""im2col against a direct convolution in loops."""

import numpy as np
import pytest

from qviz.quant import SpecError
from qviz.quant.algorithms.im2col import im2col


def slow_conv(x, w, strides, pads, dilations):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    top, left, bottom, right = pads
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    oh = (h + top + bottom - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (wd + left + right - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    y = np.zeros((n, o, oh, ow))
    for ni in range(n):
        for oi in range(o):
            for i in range(oh):
                for j in range(ow):
                    for ci in range(c):
                        for a in range(kh):
                            for b in range(kw):
                                y[ni, oi, i, j] += (
                                    w[oi, ci, a, b]
                                    * xp[ni, ci, i * strides[0] + a * dilations[0], j * strides[1] + b * dilations[1]]
                                )
    return y


@pytest.mark.parametrize(
    ("kernel", "strides", "pads", "dilations"),
    [
        ((3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),
        ((2, 3), (2, 1), (0, 1, 1, 0), (1, 1)),
        ((3, 2), (1, 2), (2, 0, 0, 1), (2, 1)),
    ],
    ids=["same", "stride", "dilation"],
)
def test_rows_times_the_flat_kernel_is_the_convolution(kernel, strides, pads, dilations):
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2, 3, 6, 7)), rng.normal(size=(4, 3, *kernel))
    y = slow_conv(x, w, strides, pads, dilations)
    rows = im2col(x, kernel, strides, pads, dilations)
    np.testing.assert_allclose(rows @ w.reshape(4, -1).T, y.transpose(0, 2, 3, 1).reshape(-1, 4), atol=1e-12)


def test_bad_input_is_a_spec_error():
    with pytest.raises(SpecError, match="4-D"):
        im2col(np.ones((3, 3)), (2, 2))
    with pytest.raises(SpecError, match="does not fit"):
        im2col(np.ones((1, 1, 2, 2)), (3, 3))
