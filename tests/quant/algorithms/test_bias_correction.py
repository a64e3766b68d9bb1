"""Empirical bias correction: b - dW @ E[x], written as loops, and the property it promises."""

import numpy as np
import pytest

from qviz.quant import QuantSpec, SpecError, quantize
from qviz.quant.algorithms.bias_correction import correct_bias
from qviz.quant.algorithms.im2col import im2col


def slow_correction(w, w_q, x, b):
    out = []
    for o in range(w.shape[0]):
        shift = sum((w_q[o, i] - w[o, i]) * np.mean(x[:, i]) for i in range(w.shape[1]))
        out.append(b[o] - shift)
    return np.array(out)


def layer(seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(6, 10))
    x = np.maximum(rng.normal(loc=0.5, size=(300, 10)), 0)  # after a ReLU: E[x] > 0
    return w, quantize(w, QuantSpec(bits=3)).x_dq, x, rng.normal(size=6)


def test_matches_the_formula_and_removes_the_mean_output_shift():
    w, w_q, x, b = layer()
    r = correct_bias(w, w_q, x=x, bias=b)
    np.testing.assert_allclose(r.bias, slow_correction(w, w_q, x, b), rtol=1e-12)
    np.testing.assert_allclose((x @ w_q.T + r.bias).mean(axis=0), (x @ w.T + b).mean(axis=0), atol=1e-12)
    assert np.abs((x @ w_q.T + b).mean(axis=0) - (x @ w.T + b).mean(axis=0)).max() > 1e-3
    np.testing.assert_allclose(r.info["bias_shift"], r.bias - b)


def test_creates_a_bias_when_there_is_none():
    w, w_q, x, _ = layer(1)
    r = correct_bias(w, w_q, x=x)
    np.testing.assert_allclose(r.bias, slow_correction(w, w_q, x, np.zeros(6)), rtol=1e-12)
    assert r.info["created_bias"]


def test_conv_weight_with_the_mean_input_per_channel():
    """For a Conv, dW summed over the kernel times E[x_c]: the im2col mean of the output shift."""
    rng = np.random.default_rng(2)
    w = rng.normal(size=(4, 3, 3, 3))
    w_q = quantize(w, QuantSpec(bits=3, granularity="channel", axis=0)).x_dq
    x = rng.normal(loc=[[[[1.0]], [[-2.0]], [[0.5]]]], size=(5, 3, 8, 8))
    rows = im2col(x, (3, 3))  # no padding: every window sees real pixels
    r = correct_bias(w, w_q, bias=np.zeros(4), input_mean=x.mean(axis=(0, 2, 3)))
    shift = (rows @ (w_q - w).reshape(4, -1).T).mean(axis=0)
    np.testing.assert_allclose(r.bias, -shift, atol=0.05)  # the per-channel mean over the image ~ over the windows


def test_depthwise_conv():
    w = np.array([[[[1.0, 2.0]]], [[[3.0, 4.0]]]])  # (2, 1, 1, 2)
    w_q = w + np.array([[[[0.5, 0.5]]], [[[-1.0, 0.0]]]])
    r = correct_bias(w, w_q, input_mean=np.array([2.0, 3.0]), depthwise=True)
    np.testing.assert_allclose(r.bias, [-(0.5 + 0.5) * 2.0, 1.0 * 3.0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": None}, "needs calibration inputs"),
        ({"x": np.ones((0, 10))}, "0 rows"),
        ({"x": np.ones((4, 9))}, "shape mismatch"),
        ({"w_q": np.ones((6, 9))}, "one shape"),
        ({"bias": np.ones(5)}, "6 values"),
        ({"input_mean": np.ones(3)}, "shape mismatch"),
    ],
    ids=["no-data", "no-rows", "features", "weights", "bias", "input-mean"],
)
def test_bad_input_is_a_spec_error(kwargs, message):
    w, w_q, x, b = layer()
    args = {"w": w, "w_q": w_q, "x": x, "bias": b, **kwargs}
    with pytest.raises(SpecError, match=message):
        correct_bias(**args)
