"""Binary (BWN / XNOR-Net) and ternary (TWN) weights against their formulas in loops."""

import numpy as np
import pytest

from qviz.quant import SpecError
from qviz.quant.algorithms.binary import binarize, ternarize
from qviz.quant.algorithms.weight_grid import dequantize_codes


def weights(seed=0):
    return np.random.default_rng(seed).normal(size=(5, 40))


def test_binary_values_are_plus_minus_alpha_with_alpha_the_mean_magnitude():
    w = weights()
    r = binarize(w)
    for c in range(w.shape[0]):
        alpha = sum(abs(v) for v in w[c]) / w.shape[1]
        assert r.info["alpha"][c] == pytest.approx(alpha)
        assert set(np.round(r.weight[c] / alpha, 12)) <= {-1.0, 1.0}
        np.testing.assert_array_equal(np.sign(r.weight[c]), np.where(w[c] >= 0, 1, -1))


def test_binary_alpha_is_the_least_squares_scale():
    w = weights(1)[0]
    alpha = binarize(w[None]).info["alpha"][0]
    errs = [np.sum((w - a * np.sign(w)) ** 2) for a in (alpha * 0.99, alpha, alpha * 1.01)]
    assert errs[1] < errs[0] and errs[1] < errs[2]


def test_ternary_threshold_and_alpha():
    w = weights(2)
    r = ternarize(w)
    for c in range(w.shape[0]):
        delta = 0.7 * sum(abs(v) for v in w[c]) / w.shape[1]
        kept = [abs(v) for v in w[c] if abs(v) > delta]
        alpha = sum(kept) / len(kept)
        assert r.info["delta"][c] == pytest.approx(delta)
        assert r.info["alpha"][c] == pytest.approx(alpha)
        for v, t in zip(w[c], r.weight[c], strict=True):
            assert t == pytest.approx(0.0 if abs(v) <= delta else np.sign(v) * alpha)


def test_codes_sit_on_the_two_bit_restricted_grid():
    for r in (binarize(weights(3)), ternarize(weights(3))):
        assert r.spec.qmin == -1 and r.spec.qmax == 1
        assert set(np.unique(r.q)) <= {-1, 0, 1}
        np.testing.assert_array_equal(dequantize_codes(r.q, r.scale, r.zero_point, r.spec, np.float64), r.weight)


def test_an_all_zero_channel_stays_zero():
    w = weights(4)
    w[1] = 0.0
    for r in (binarize(w), ternarize(w)):
        assert np.all(r.weight[1] == 0) and np.all(np.isfinite(r.weight)) and r.scale[1] == 1.0


def test_bad_input_is_a_spec_error():
    with pytest.raises(SpecError, match="2-D"):
        binarize(np.ones(4))
    with pytest.raises(SpecError, match="NaN"):
        ternarize(np.array([[1.0, np.nan]]))
