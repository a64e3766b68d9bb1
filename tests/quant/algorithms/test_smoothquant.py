"""SmoothQuant against loops written from the paper's eq. 4, and the identity it rests on."""

import numpy as np
import pytest

from qviz.quant import QuantSpec, SpecError, fake_quantize
from qviz.quant.algorithms.smoothquant import search_smoothquant, smooth, smoothing_scales


def slow_scales(x, w, alpha):
    """s_j = max_i |x_ij|**alpha / max_k |w_kj|**(1-alpha), 1 where either max is 0."""
    s = np.ones(w.shape[1])
    for j in range(w.shape[1]):
        xm = max(abs(float(v)) for v in x[:, j])
        wm = max(abs(float(v)) for v in w[:, j])
        if xm > 0 and wm > 0:
            s[j] = xm**alpha / wm ** (1 - alpha)
    return s


def layer(seed=0, n=48, k=12, m=5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, k))
    x[:, 3] *= 60.0  # an outlier channel, the case SmoothQuant was made for
    return x, rng.normal(size=(m, k))


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.5, 0.85, 1.0])
def test_scales_match_the_formula(alpha):
    x, w = layer()
    np.testing.assert_allclose(smoothing_scales(np.abs(x).max(axis=0), w, alpha), slow_scales(x, w, alpha), rtol=1e-13)


def test_zero_channels_keep_scale_one():
    x, w = layer()
    x[:, 0] = 0.0
    w[:, 1] = 0.0
    s = smoothing_scales(np.abs(x).max(axis=0), w, 0.5)
    assert s[0] == 1.0 and s[1] == 1.0 and np.all(np.isfinite(s))


def test_transform_keeps_the_layer_function():
    x, w = layer()
    _s, ws, xs = smooth(w, x, 0.5)
    np.testing.assert_allclose(xs @ ws.T, x @ w.T, rtol=1e-12, atol=1e-12)


def test_power_of_two_scales_keep_every_product_bit_exact():
    """With pow2 scales, x/s and w*s are exact in float64, so each product x_ij w_kj is identical."""
    x, w = layer()
    s, ws, xs = smooth(w, x, 0.5, pow2=True)
    assert np.all(np.log2(s) == np.rint(np.log2(s)))
    np.testing.assert_array_equal(xs[:, None, :] * ws[None, :, :], x[:, None, :] * w[None, :, :])
    np.testing.assert_array_equal(xs @ ws.T, x @ w.T)


def test_balanced_ranges_at_half():
    """alpha = 0.5: activation and weight channel maxima both become sqrt(max|X_j| max|W_j|)."""
    x, w = layer()
    _s, ws, xs = smooth(w, x, 0.5)
    want = np.sqrt(np.abs(x).max(axis=0) * np.abs(w).max(axis=0))
    np.testing.assert_allclose(np.abs(xs).max(axis=0), want, rtol=1e-12)
    np.testing.assert_allclose(np.abs(ws).max(axis=0), want, rtol=1e-12)


def slow_w8a8_error(x, w, s):
    """Layer output MSE after int8 symmetric per-tensor activations / per-channel weights, by hand."""
    xs, ws = x / s, w * s
    a_scale = np.float32(2 * np.abs(xs).max() / 255)
    w_scale = np.array([2 * np.abs(r).max() / 255 for r in ws], dtype=np.float32)
    xq = fake_quantize(xs, a_scale, 0, -128, 127)
    wq = fake_quantize(ws, w_scale, np.zeros(len(w_scale), np.int32), -128, 127, axis=0)
    return float(np.mean((xq @ wq.T - x @ w.T) ** 2))


def test_search_picks_the_alpha_with_the_smallest_w8a8_error():
    x, w = layer(1)
    alphas = [0.0, 0.25, 0.5, 0.75]
    r = search_smoothquant(w, x, alphas=alphas)
    slow = [slow_w8a8_error(x, w, slow_scales(x, w, a)) for a in alphas]
    np.testing.assert_allclose(r.info["errors"], slow, rtol=1e-6)
    assert r.info["alpha"] == alphas[int(np.argmin(slow))]
    assert min(slow) < r.info["rtn_error"] / 2  # the outlier channel: smoothing helps a lot
    np.testing.assert_allclose(r.input_scale, slow_scales(x, w, r.info["alpha"]), rtol=1e-12)
    np.testing.assert_allclose(r.info["act_max_after"], np.abs(x / r.input_scale).max(axis=0), rtol=1e-12)
    assert r.q is not None and r.q.min() >= -128 and r.q.max() <= 127


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": np.ones((4, 3))}, "shape mismatch"),
        ({"x": np.ones((0, 12))}, "0 rows"),
        ({"x": None}, "needs calibration inputs"),
        ({"alphas": [0.5, 1.5]}, "alphas"),
    ],
    ids=["features", "no-rows", "no-data", "alpha-range"],
)
def test_bad_input_is_a_spec_error(kwargs, message):
    x, w = layer()
    with pytest.raises(SpecError, match=message):
        search_smoothquant(w, **{"x": x, **kwargs})


def test_alpha_outside_the_unit_interval_is_refused():
    x, w = layer()
    with pytest.raises(SpecError, match="alpha"):
        smooth(w, x, 1.5)


def test_weight_spec_must_be_an_integer_grid():
    x, w = layer()
    with pytest.raises(SpecError, match="scheme must be int"):
        search_smoothquant(w, x, weight_spec=QuantSpec(scheme="float", float_format="float8_e4m3fn"))
