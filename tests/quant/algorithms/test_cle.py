"""Cross-layer equalization and high-bias absorption against the paper's formulas, in loops."""

import math

import numpy as np
import pytest

from qviz.quant import SpecError
from qviz.quant.algorithms.cle import equalize_pair, preactivation_stats
from qviz.quant.algorithms.im2col import im2col


def relu(v):
    return np.maximum(v, 0.0)


def slow_scales(w1, w2, depthwise=False):
    """s_i = sqrt(r1_i / r2_i) = sqrt(r1_i * r2_i) / r2_i, written per channel."""
    s = []
    for i in range(w1.shape[0]):
        r1 = max(abs(float(v)) for v in w1[i].ravel())
        r2 = max(abs(float(v)) for v in (w2[i] if depthwise else w2[:, i]).ravel())
        s.append(math.sqrt(r1 * r2) / r2 if r1 > 0 and r2 > 0 else 1.0)
    return np.array(s)


def dense_pair(seed=0, n_in=6, c=8, out=5):
    rng = np.random.default_rng(seed)
    w1 = rng.normal(size=(c, n_in)) * rng.uniform(0.01, 20.0, size=(c, 1))  # channel ranges spread widely
    return w1, rng.normal(size=(c,)), rng.normal(size=(out, c)), rng.normal(size=(out,)), rng.normal(size=(50, n_in))


def test_scales_and_equalized_ranges_match_the_formula():
    w1, b1, w2, b2, _ = dense_pair()
    pair = equalize_pair(w1, w2, b1, b2)
    np.testing.assert_allclose(pair.channel_scale, slow_scales(w1, w2), rtol=1e-13)
    r1, r2 = np.abs(w1).max(axis=1), np.abs(w2).max(axis=0)
    np.testing.assert_allclose(np.abs(pair.producer.weight).max(axis=1), np.sqrt(r1 * r2), rtol=1e-12)
    np.testing.assert_allclose(np.abs(pair.consumer.weight).max(axis=0), np.sqrt(r1 * r2), rtol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "identity"])
def test_the_pair_computes_the_same_function(activation):
    w1, b1, w2, b2, x = dense_pair(1)
    f = relu if activation == "relu" else (lambda v: v)
    pair = equalize_pair(w1, w2, b1, b2, activation=activation)
    before = f(x @ w1.T + b1) @ w2.T + b2
    after = f(x @ pair.producer.weight.T + pair.producer.bias) @ pair.consumer.weight.T + pair.consumer.bias
    np.testing.assert_allclose(after, before, rtol=1e-10, atol=1e-10)


def test_relu6_returns_the_rescaled_clip_point():
    """ReLU6(v) / s = clip(v / s, 0, 6 / s): with the per-channel bound the function is unchanged;
    keeping the scalar 6 would not be (the trap this guards against)."""
    w1, b1, w2, b2, x = dense_pair(2)
    pair = equalize_pair(w1, w2, b1, b2, activation="relu6")
    before = np.clip(x @ w1.T + b1, 0, 6) @ w2.T + b2
    pre = x @ pair.producer.weight.T + pair.producer.bias
    after = np.minimum(relu(pre), pair.clip_high) @ pair.consumer.weight.T + pair.consumer.bias
    np.testing.assert_allclose(after, before, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(pair.clip_high, 6.0 / pair.channel_scale)
    wrong = np.clip(pre, 0, 6) @ pair.consumer.weight.T + pair.consumer.bias
    assert not np.allclose(wrong, before)


def depthwise_conv(x, w, b):
    """Direct 3x3 depthwise convolution, stride 1, padding 1, in loops."""
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    y = np.zeros((n, c, h, wd))
    for ni in range(n):
        for ci in range(c):
            for i in range(h):
                for j in range(wd):
                    y[ni, ci, i, j] = np.sum(xp[ni, ci, i : i + 3, j : j + 3] * w[ci, 0]) + b[ci]
    return y


def test_depthwise_consumer_uses_its_own_channel_ranges():
    rng = np.random.default_rng(3)
    c = 4
    w1 = rng.normal(size=(c, 3, 1, 1)) * np.array([0.05, 1, 10, 3]).reshape(c, 1, 1, 1)  # 1x1 conv
    b1, w2, b2 = rng.normal(size=c), rng.normal(size=(c, 1, 3, 3)), rng.normal(size=c)
    pair = equalize_pair(w1, w2, b1, b2, consumer_depthwise=True)
    np.testing.assert_allclose(pair.channel_scale, slow_scales(w1, w2, depthwise=True), rtol=1e-13)
    x = rng.normal(size=(2, 3, 5, 5))

    def run(w1_, b1_, w2_, b2_):
        pre = np.einsum("oc,nchw->nohw", w1_[:, :, 0, 0], x) + b1_.reshape(1, c, 1, 1)
        return depthwise_conv(relu(pre), w2_, b2_)

    want = run(w1, b1, w2, b2)
    got = run(pair.producer.weight, pair.producer.bias, pair.consumer.weight, pair.consumer.bias)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_zero_channels_keep_scale_one():
    w1, b1, w2, b2, _ = dense_pair(4)
    w1[2] = 0.0
    w2[:, 5] = 0.0
    s = equalize_pair(w1, w2, b1, b2).channel_scale
    assert s[2] == 1.0 and s[5] == 1.0


def test_high_bias_absorption_keeps_the_function_when_activations_stay_above_c():
    rng = np.random.default_rng(5)
    w1, _, w2, b2, x = dense_pair(5)
    b1 = np.abs(w1).sum(axis=1) * 3 + 5.0  # pre-activations well above zero: large "high bias"
    x = rng.uniform(-1, 1, size=(200, w1.shape[1]))
    mean, std = preactivation_stats(x @ w1.T + b1)
    pair = equalize_pair(w1, w2, b1, b2, preact_mean=mean, preact_std=std)
    c_slow = np.array([max(0.0, (m - 3 * s_) / sc) for m, s_, sc in zip(mean, std, pair.channel_scale, strict=True)])
    np.testing.assert_allclose(pair.info["absorbed"], c_slow, rtol=1e-12)
    assert np.all(c_slow > 0)
    pre = x @ pair.producer.weight.T + pair.producer.bias
    assert pre.min() >= 0  # the absorbed shift stayed below every calibration activation
    before = relu(x @ w1.T + b1) @ w2.T + b2
    after = relu(pre) @ pair.consumer.weight.T + pair.consumer.bias
    np.testing.assert_allclose(after, before, rtol=1e-9, atol=1e-9)
    assert np.all(np.abs(pair.producer.bias) < np.abs(b1 / pair.channel_scale))


def test_high_bias_absorption_through_a_conv_consumer():
    """b2 += sum over the kernel of W2 * c: exact where no zero padding enters the window."""
    rng = np.random.default_rng(6)
    c, o = 3, 2
    w1, b1 = rng.normal(size=(c, 4)), np.array([6.0, 7.0, 8.0])
    w2, b2 = rng.normal(size=(o, c, 3, 3)), rng.normal(size=o)
    x = rng.uniform(-0.5, 0.5, size=(1 * 6 * 6, 4))
    mean, std = preactivation_stats(x @ w1.T + b1)
    pair = equalize_pair(w1, w2, b1, b2, preact_mean=mean, preact_std=std)

    def run(w1_, b1_, w2_, b2_):
        act = relu(x @ w1_.T + b1_).reshape(1, 6, 6, c).transpose(0, 3, 1, 2)
        return im2col(act, (3, 3)) @ w2_.reshape(o, -1).T + b2_

    np.testing.assert_allclose(
        run(pair.producer.weight, pair.producer.bias, pair.consumer.weight, pair.consumer.bias),
        run(w1, b1, w2, b2),
        rtol=1e-9,
        atol=1e-9,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"w2": np.ones((5, 7))}, "shape mismatch"),
        ({"activation": "sigmoid"}, "commutes with a positive scale"),
        ({"activation": "relu6", "preact_mean": np.ones(8), "preact_std": np.ones(8)}, "ReLU6"),
        ({"preact_mean": np.ones(8)}, "both"),
        ({"preact_mean": np.ones(3), "preact_std": np.ones(3)}, "8 channels"),
        ({"b1": np.ones(3)}, "shape mismatch"),
        ({"w2": np.ones((8, 2, 3, 3)), "consumer_depthwise": True}, "depthwise"),
    ],
    ids=["channels", "activation", "relu6-absorb", "half-stats", "stats-size", "bias-size", "depthwise-shape"],
)
def test_bad_input_is_a_spec_error(kwargs, message):
    w1, b1, w2, b2, _ = dense_pair()
    args = {"w1": w1, "w2": w2, "b1": b1, "b2": b2, **kwargs}
    with pytest.raises(SpecError, match=message):
        equalize_pair(**args)
