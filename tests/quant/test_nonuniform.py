"""Non-uniform schemes: k-means (never worse than uniform) and logarithmic (signed powers of two)."""

import numpy as np
import pytest

from qviz.quant import QuantSpec
from qviz.quant.api import quantize
from qviz.quant.kmeans import quantize_kmeans
from qviz.quant.log import quantize_log

VARIANTS = [(True, True), (False, False), (True, False)]  # (signed, symmetric)
GRANULARITIES = [("tensor", {}), ("channel", {"axis": 0}), ("group", {"axis": 1, "group_size": 16})]


def data(dist, shape, seed=0):
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    x = {
        "gauss": rng.normal(size=n),
        "relu": np.maximum(rng.normal(size=n), 0.0),
        "bimodal": np.concatenate([rng.normal(-3, 0.3, n // 2), rng.normal(2, 0.5, n - n // 2)]),
        "outliers": np.where(rng.random(n) < 0.01, rng.normal(0, 30, n), rng.normal(size=n)),
    }[dist]
    return x.reshape(shape).astype(np.float32)


def nearest_level(x2d, codebook):
    """Brute force: the codebook entry nearest to each value (the oracle for the assignment)."""
    return np.take_along_axis(codebook, np.argmin(np.abs(x2d[:, :, None] - codebook[:, None, :]), axis=2), axis=1)


# ---------------------------------------------------------------- k-means


@pytest.mark.parametrize("gran", GRANULARITIES, ids=[g[0] for g in GRANULARITIES])
@pytest.mark.parametrize("variant", VARIANTS, ids=["int-sym", "uint-asym", "int-asym"])
@pytest.mark.parametrize("bits", [2, 3, 4, 8])
@pytest.mark.parametrize("dist", ["gauss", "relu", "bimodal", "outliers"])
def test_kmeans_never_worse_than_uniform_minmax(dist, bits, variant, gran):
    x = data(dist, (8, 64), seed=bits)
    common = dict(bits=bits, signed=variant[0], symmetric=variant[1], granularity=gran[0], **gran[1])
    km = quantize(x, QuantSpec(scheme="kmeans", **common))
    uniform = quantize(x, QuantSpec(scheme="int", estimator="minmax", **common))
    assert km.mse <= uniform.mse * (1 + 1e-6)


def test_kmeans_matches_lloyd_max_for_a_gaussian():
    # Lloyd-Max optimal 2-bit quantizer for N(0, 1): MSE 0.1175 (Max 1960).
    x = np.random.default_rng(0).normal(size=100_000).astype(np.float32)
    r = quantize(x, QuantSpec(scheme="kmeans", bits=2))
    assert r.mse == pytest.approx(0.1175, rel=0.02)
    np.testing.assert_allclose(np.abs(r.codebook[0]), [1.51, 0.453, 0.453, 1.51], atol=0.03)


def test_kmeans_is_exact_with_few_distinct_values():
    x = np.array([0.5, -1.25, 3.0, 3.0, 0.5, 7.0, -1.25], np.float32)
    r = quantize(x, QuantSpec(scheme="kmeans", bits=2))
    np.testing.assert_array_equal(r.x_dq, x)
    assert r.mse == 0.0


@pytest.mark.parametrize("gran", GRANULARITIES, ids=[g[0] for g in GRANULARITIES])
def test_kmeans_result_layout(gran):
    x = data("gauss", (4, 32), seed=1)
    spec = QuantSpec(scheme="kmeans", bits=3, granularity=gran[0], **gran[1])
    r = quantize(x, spec)
    x2d = r.x_dq.reshape(1, -1) if gran[0] == "tensor" else None
    rows = {"tensor": 1, "channel": 4, "group": 8}[gran[0]]
    assert r.codebook.shape == (rows, 8) and np.all(np.diff(r.codebook, axis=1) >= 0)
    assert r.q.shape == x.shape and r.q.dtype == np.int32 and r.q.min() >= 0 and r.q.max() <= 7
    assert r.x_dq.dtype == np.float32 and r.scale is None
    if x2d is not None:
        np.testing.assert_array_equal(x2d[0], r.codebook[0][r.q.ravel()].astype(np.float32))


def test_kmeans_assigns_the_nearest_level():
    x = data("bimodal", (3, 200), seed=2)
    r = quantize(x, QuantSpec(scheme="kmeans", bits=3, granularity="channel", axis=0))
    np.testing.assert_allclose(r.x_dq, nearest_level(x.astype(np.float64), r.codebook), rtol=1e-6)


def test_kmeans_is_deterministic_and_ignores_non_finite_values():
    x = data("gauss", (500,), seed=3)
    dirty = np.concatenate([x, np.float32([np.nan, np.inf, -np.inf])])
    spec = QuantSpec(scheme="kmeans", bits=3)
    a, b = quantize_kmeans(dirty, spec), quantize_kmeans(dirty, spec)
    np.testing.assert_array_equal(a.codebook, b.codebook)
    np.testing.assert_allclose(a.codebook, quantize_kmeans(x, spec).codebook)
    assert a.q[-3:].tolist() == [0, 7, 0]  # NaN -> bottom, +Inf -> top, -Inf -> bottom
    assert np.all(np.isfinite(a.x_dq))


def test_kmeans_one_bit_and_constant_rows():
    r = quantize(np.float32([-2, -1, 1, 2]), QuantSpec(scheme="kmeans", bits=1))
    np.testing.assert_allclose(r.x_dq, [-1.5, -1.5, 1.5, 1.5])
    r = quantize(np.full((2, 8), 5.0, np.float32), QuantSpec(scheme="kmeans", bits=2, granularity="channel"))
    np.testing.assert_array_equal(r.x_dq, 5.0)


# ---------------------------------------------------------------- log


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
@pytest.mark.parametrize("gran", GRANULARITIES, ids=[g[0] for g in GRANULARITIES])
def test_log_levels_are_signed_powers_of_two_and_zero(bits, gran):
    x = data("outliers", (8, 64), seed=bits)
    r = quantize(x, QuantSpec(scheme="log", bits=bits, granularity=gran[0], **gran[1]))
    assert r.codebook.shape[1] == 2**bits - 1
    levels = r.codebook[r.codebook != 0]
    np.testing.assert_array_equal(np.log2(np.abs(levels)), np.round(np.log2(np.abs(levels))))
    np.testing.assert_array_equal(r.codebook, -r.codebook[:, ::-1])  # symmetric, one zero
    assert np.all(r.codebook[:, 2 ** (bits - 1) - 1] == 0)
    nonzero = r.x_dq[r.x_dq != 0].astype(np.float64)
    np.testing.assert_array_equal(np.log2(np.abs(nonzero)), np.round(np.log2(np.abs(nonzero))))


@pytest.mark.parametrize("bits", [3, 5])
def test_log_picks_the_nearest_level(bits):
    x = data("gauss", (4, 300), seed=5)
    r = quantize(x, QuantSpec(scheme="log", bits=bits, granularity="channel", axis=0))
    np.testing.assert_array_equal(r.x_dq, nearest_level(x.astype(np.float64), r.codebook).astype(np.float32))


def test_log_golden():
    r = quantize_log(np.float32([0.3, -0.9, 0.01, 2.0, 1.5, 1.49, 0.25, 0.2499, 0.0]), QuantSpec(scheme="log", bits=3))
    # a = 2 -> e_max = 1, 3 exponents: levels 0, +-0.5, +-1, +-2; 1.5 and 0.25 are ties (go up)
    np.testing.assert_array_equal(r.x_dq, np.float32([0.5, -1.0, 0.0, 2.0, 2.0, 1.0, 0.5, 0.0, 0.0]))
    np.testing.assert_array_equal(r.codebook, [[-2, -1, -0.5, 0, 0.5, 1, 2]])
    assert r.lo.tolist() == [-2.0] and r.hi.tolist() == [2.0]


def test_log_top_exponent_rounds_log2_of_the_range():
    x = np.float32([3.1, -0.1])  # log2(3.1) = 1.63 -> 2**2 = 4; 3.1 > 1.5 * 2 goes to 4
    r = quantize(x, QuantSpec(scheme="log", bits=4))
    assert r.codebook[0, -1] == 4.0 and r.x_dq[0] == 4.0
    x = np.float32([2.7, -0.1])  # log2(2.7) = 1.43 -> 2**1 = 2; 2.7 saturates to 2
    assert quantize(x, QuantSpec(scheme="log", bits=4)).x_dq[0] == 2.0


def test_log_non_finite_and_all_zero():
    r = quantize(np.float32([np.nan, np.inf, -np.inf, 1.0]), QuantSpec(scheme="log", bits=3))
    assert r.x_dq[:3].tolist() == [-1.0, 1.0, -1.0]
    r = quantize(np.zeros((2, 3), np.float32), QuantSpec(scheme="log", bits=3, granularity="channel"))
    assert not r.x_dq.any() and r.mse == 0.0


def test_log_uses_the_spec_estimator():
    x = data("outliers", (2000,), seed=7)
    wide = quantize(x, QuantSpec(scheme="log", bits=4))
    clipped = quantize(x, QuantSpec(scheme="log", bits=4, estimator="percentile", percentile=99.0))
    assert clipped.codebook[0, -1] < wide.codebook[0, -1]


def test_kmeans_clips_nothing_on_relu_data():
    """Issue 15, item 3: a codebook has no clipping range. With its end levels as the range, every
    zero of ReLU-like data below a lowest level of 0.0075 counted as clipped: 52 % at 3 bits."""
    rng = np.random.default_rng(0)
    x = np.maximum(rng.standard_normal(4096), 0).astype(np.float32)  # half zeros
    r = quantize_kmeans(x, QuantSpec(scheme="kmeans", bits=3))
    assert r.clipped_fraction == 0.0 and r.clip_mse == 0.0
    assert np.isclose(r.round_mse, np.mean((x.astype(np.float64) - r.x_dq) ** 2))
