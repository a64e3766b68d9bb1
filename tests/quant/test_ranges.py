"""Range estimators: shared rules, and each estimator against an oracle (numpy, brute force, the formula)."""

import math

import numpy as np
import pytest

from qviz.quant import QuantSpec, SpecError
from qviz.quant.api import quantize
from qviz.quant.ranges import ESTIMATOR_FUNCTIONS, SIGMAS_BY_BITS, estimate_range
from qviz.quant.ranges.entropy import window_kl
from qviz.quant.ranges.mse import EXACT_MAX_N, fake_quant_range

ESTIMATORS = [e for e in ESTIMATOR_FUNCTIONS if e != "manual"]


def distributions(n, seed=0):
    """Named 1-D samples, float32: the shapes calibration meets in practice."""
    rng = np.random.default_rng(seed)
    outliers = rng.normal(size=n)
    outliers[rng.choice(n, 3, replace=False)] = [25.0, -40.0, 60.0]
    return {
        "gauss": rng.normal(size=n),
        "laplace": rng.laplace(size=n),
        "relu": np.maximum(rng.normal(1.0, 2.0, size=n), 0.0),
        "uniform": rng.uniform(-2.0, 5.0, size=n),
        "student_t2": rng.standard_t(2, size=n),
        "outliers": outliers,
    }


DISTS = list(distributions(8))


def sample(name, n, seed=0):
    return distributions(n, seed)[name].astype(np.float32)


# ---------------------------------------------------------------- shared rules


@pytest.mark.parametrize("symmetric", [True, False], ids=["sym", "asym"])
@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("dist", DISTS)
def test_range_is_ordered_finite_and_inside_the_data(estimator, dist, symmetric):
    x2d = sample(dist, 3 * 500).reshape(3, 500)
    lo, hi = estimate_range(x2d, QuantSpec(estimator=estimator, bits=4, symmetric=symmetric))
    assert lo.dtype == hi.dtype == np.float64 and lo.shape == hi.shape == (3,)
    assert np.all(np.isfinite(lo) & np.isfinite(hi) & (lo <= hi))
    assert np.all(lo >= x2d.min(axis=1)) and np.all(hi <= x2d.max(axis=1))


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_non_finite_values_are_ignored(estimator):
    x = sample("laplace", 600).reshape(2, 300)
    dirty = x.copy()
    dirty[0, [3, 50]] = [np.nan, np.inf]
    dirty[1, 7] = -np.inf
    clean_rows = [x[0][np.isfinite(dirty[0])], x[1][np.isfinite(dirty[1])]]
    spec = QuantSpec(estimator=estimator, bits=4, symmetric=False)
    lo, hi = estimate_range(dirty, spec)
    for g, row in enumerate(clean_rows):
        want = estimate_range(row[None], spec)
        np.testing.assert_allclose([lo[g], hi[g]], [want[0][0], want[1][0]], rtol=1e-12)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_row_without_finite_values_gets_zero_range(estimator):
    x2d = np.array([[np.nan, np.inf, -np.inf], [1.0, -2.0, 3.0]], np.float32)
    lo, hi = estimate_range(x2d, QuantSpec(estimator=estimator, symmetric=False))
    assert (lo[0], hi[0]) == (0.0, 0.0)
    assert lo[1] < 0 < hi[1]


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("shape", [(3, 0), (0, 5)], ids=["rows-without-values", "no-rows"])
def test_empty_input(estimator, shape):
    lo, hi = estimate_range(np.zeros(shape, np.float32), QuantSpec(estimator=estimator))
    assert lo.shape == hi.shape == (shape[0],) and not lo.any() and not hi.any()


def test_needs_a_2d_array():
    with pytest.raises(SpecError, match="2-D"):
        estimate_range(np.zeros(4), QuantSpec())


def test_manual_range_is_broadcast_to_every_row():
    spec = QuantSpec(estimator="manual", range_min=-1.5, range_max=2.0)
    lo, hi = estimate_range(np.zeros((3, 4)), spec)
    assert lo.tolist() == [-1.5] * 3 and hi.tolist() == [2.0] * 3


def test_minmax():
    lo, hi = estimate_range(np.array([[-1.0, 0.5, np.inf, 3.0], [2.0, 2.0, 2.0, 2.0]]), QuantSpec())
    assert lo.tolist() == [-1.0, 2.0] and hi.tolist() == [3.0, 2.0]


# ---------------------------------------------------------------- percentile


@pytest.mark.parametrize("p", [90.0, 99.0, 99.99, 100.0])
@pytest.mark.parametrize("symmetric", [True, False], ids=["sym", "asym"])
def test_percentile_matches_numpy(p, symmetric):
    x2d = sample("laplace", 2000).reshape(4, 500)
    lo, hi = estimate_range(x2d, QuantSpec(estimator="percentile", percentile=p, symmetric=symmetric))
    if symmetric:
        amax = np.percentile(np.abs(x2d), p, axis=1)
        want_lo, want_hi = np.maximum(-amax, x2d.min(axis=1)), np.minimum(amax, x2d.max(axis=1))
    else:
        want_lo, want_hi = np.percentile(x2d, [100 - p, p], axis=1)
    np.testing.assert_allclose(lo, want_lo, rtol=1e-6)
    np.testing.assert_allclose(hi, want_hi, rtol=1e-6)


def test_percentile_clips_outliers():
    x = sample("outliers", 20_000)
    lo, hi = estimate_range(x[None], QuantSpec(estimator="percentile", percentile=99.9, symmetric=False))
    assert -5 < lo[0] < -2 and 2 < hi[0] < 5


# ---------------------------------------------------------------- sigma


def aciq_gaussian_error(a, bits):
    """Banner et al.'s expected MSE for N(0, 1) clipped at +-a with 2**bits levels."""
    pdf = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    tail = 0.5 * math.erfc(a / math.sqrt(2))
    return 2 * ((a * a + 1) * tail - a * pdf) + a * a / (3 * 4**bits)


@pytest.mark.parametrize("bits", [2, 4, 8, 16])
def test_sigma_table_minimizes_the_aciq_formula(bits):
    k = SIGMAS_BY_BITS[bits]
    grid = np.arange(k - 0.5, k + 0.5, 0.001)
    best = grid[np.argmin([aciq_gaussian_error(a, bits) for a in grid])]
    assert abs(best - k) <= 0.01


def test_sigma_is_mean_plus_minus_k_std():
    x = np.random.default_rng(1).normal(3.0, 2.0, size=(1, 200_000))
    lo, hi = estimate_range(x, QuantSpec(estimator="sigma", bits=4, symmetric=False))
    mean, std, k = x.mean(), x.std(), SIGMAS_BY_BITS[4]
    np.testing.assert_allclose([lo[0], hi[0]], [mean - k * std, mean + k * std], rtol=1e-9)


def test_sigma_override_and_clip_to_data():
    x = np.array([[-1.0, 0.0, 1.0]])
    lo, hi = estimate_range(x, QuantSpec(estimator="sigma", sigmas=100.0))
    assert (lo[0], hi[0]) == (-1.0, 1.0)
    lo, hi = estimate_range(x, QuantSpec(estimator="sigma", sigmas=0.5))
    np.testing.assert_allclose(hi, 0.5 * np.std(x))


@pytest.mark.parametrize("bits", [3, 4, 6])
def test_sigma_is_near_mse_optimal_on_gaussian_data(bits):
    x = np.random.default_rng(bits).normal(size=50_000).astype(np.float32)
    sigma = quantize(x, QuantSpec(bits=bits, estimator="sigma")).mse
    best = quantize(x, QuantSpec(bits=bits, estimator="mse")).mse
    assert best <= sigma <= best * 1.05


# ---------------------------------------------------------------- mse


def full_mse(x, lo, hi, spec):
    x = x.astype(np.float64)
    return np.mean((x - fake_quant_range(x[None, None], np.array([[lo]]), np.array([[hi]]), spec)[0, 0]) ** 2)


MSE_CASES = [(b, s, r) for b in (2, 4, 8) for s in (True, False) for r in ("half_even", "floor")]


@pytest.mark.parametrize("n", [1000, EXACT_MAX_N * 3], ids=["exact", "histogram"])
@pytest.mark.parametrize(
    "bits, symmetric, rounding", MSE_CASES, ids=[f"b{b}-{'sym' if s else 'asym'}-{r}" for b, s, r in MSE_CASES]
)
@pytest.mark.parametrize("dist", DISTS)
def test_mse_estimator_never_worse_than_minmax(dist, bits, symmetric, rounding, n):
    x = sample(dist, n, seed=bits)
    common = dict(bits=bits, symmetric=symmetric, signed=symmetric, rounding=rounding)
    searched = quantize(x, QuantSpec(estimator="mse", **common)).mse
    minmax = quantize(x, QuantSpec(estimator="minmax", **common)).mse
    assert searched <= minmax


@pytest.mark.parametrize(
    "granularity",
    [{"granularity": "channel", "axis": 0}, {"granularity": "group", "axis": 1, "group_size": 16}],
    ids=["channel", "group"],
)
def test_mse_estimator_never_worse_per_row(granularity):
    x = sample("outliers", 8 * 64).reshape(8, 64)
    rows = quantize(x, QuantSpec(bits=3, estimator="mse", **granularity))
    ref = quantize(x, QuantSpec(bits=3, estimator="minmax", **granularity))
    assert rows.mse <= ref.mse


@pytest.mark.parametrize("n", [2000, 20_000], ids=["exact", "histogram"])
@pytest.mark.parametrize("dist", ["gauss", "laplace", "relu", "student_t2"])
@pytest.mark.parametrize("bits", [2, 4, 8])
def test_mse_estimator_finds_the_dense_search_optimum(dist, bits, n):
    x = sample(dist, n, seed=3)
    spec = QuantSpec(bits=bits, estimator="mse", symmetric=False, signed=False)
    lo, hi = estimate_range(x[None], spec)
    got = full_mse(x, lo[0], hi[0], spec)
    mn, mx = min(x.min(), 0.0), max(x.max(), 0.0)
    dense = min(full_mse(x, r * mn, r * mx, spec) for r in np.linspace(0.01, 1.0, 400))
    assert got <= dense * 1.005


# ---------------------------------------------------------------- entropy


def direct_kl(hist, start, length, nq, eps=1e-4):
    """KL(p || q) for one window, written out bin by bin (the module docstring's definition)."""
    end = start + length
    p = hist[start:end].copy()
    p[0] += hist[:start].sum()
    p[-1] += hist[end:].sum()
    block = np.minimum(np.arange(length) // (length // nq), nq - 1)
    q_sum = np.bincount(block, weights=hist[start:end], minlength=nq)
    nonzero = np.bincount(block, weights=p > 0, minlength=nq)
    q = np.where(p > 0, q_sum[block] / np.maximum(nonzero[block], 1), 0.0)
    q = np.where((p > 0) & (q == 0), eps, q)
    p, q = p / p.sum(), q / q.sum()
    keep = p > 0
    return np.sum(p[keep] * np.log(p[keep] / q[keep]))


@pytest.mark.parametrize("dist", ["relu", "student_t2", "outliers"])
def test_entropy_closed_form_kl_matches_the_direct_definition(dist):
    x = sample(dist, 5000)
    amax = np.abs(x).max()
    hist = np.histogram(x, bins=255, range=(-amax, amax))[0].astype(np.float64)
    nq = 15
    half = np.arange(nq // 2, 128)
    got = window_kl(hist, 127 - half, 2 * half + 1, nq)
    want = [direct_kl(hist, 127 - h, 2 * h + 1, nq) for h in half]
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_entropy_clips_heavy_tails_and_keeps_gaussian_bulk():
    x = sample("outliers", 50_000)
    lo, hi = estimate_range(x[None], QuantSpec(estimator="entropy", bits=8, symmetric=False))
    assert -20 < lo[0] < -3 and 3 < hi[0] < 20  # outliers at -40 / 60 are clipped


def test_entropy_fewer_bits_clip_more():
    x = sample("laplace", 50_000)
    his = [estimate_range(x[None], QuantSpec(estimator="entropy", bits=b))[1][0] for b in (3, 5, 8)]
    assert his[0] < his[1] < his[2] <= np.abs(x).max()


def test_entropy_falls_back_to_minmax_when_the_histogram_is_too_coarse():
    x = sample("gauss", 5000)
    lo, hi = estimate_range(x[None], QuantSpec(estimator="entropy", bits=12))
    assert (lo[0], hi[0]) == (x.min(), x.max())


@pytest.mark.parametrize("dist", ["relu", "student_t2"])
def test_entropy_picks_the_min_kl_window(dist):
    x = sample(dist, 3000).astype(np.float64)
    amax = np.abs(x).max()
    hist = np.histogram(x, bins=2047, range=(-amax, amax))[0].astype(np.float64)
    half = np.arange(7, 1024)
    best = half[np.argmin([direct_kl(hist, 1023 - h, 2 * h + 1, 15) for h in half])]
    lo, hi = estimate_range(x[None], QuantSpec(estimator="entropy", bits=4))
    t = amax * (2 * best + 1) / 2047
    np.testing.assert_allclose([lo[0], hi[0]], [max(-t, x.min()), min(t, x.max())], rtol=1e-9)


def test_entropy_keeps_minmax_for_sparse_rows():
    x2d = sample("student_t2", 8 * 32).reshape(8, 32)  # 32 values for 15 levels
    lo, hi = estimate_range(x2d, QuantSpec(estimator="entropy", bits=4))
    np.testing.assert_array_equal(lo, x2d.min(axis=1))
    np.testing.assert_array_equal(hi, x2d.max(axis=1))


@pytest.mark.parametrize(
    "extra",
    [{"pow2_scale": True}, {"restricted_range": True}, {"rounding": "half_away"}, {"rounding": "trunc"}],
    ids=["pow2", "restricted", "half_away", "trunc"],
)
@pytest.mark.parametrize("n", [1000, EXACT_MAX_N * 3], ids=["exact", "histogram"])
def test_mse_estimator_never_worse_with_other_int_options(extra, n):
    x = sample("outliers", n, seed=11)
    searched = quantize(x, QuantSpec(bits=4, estimator="mse", **extra)).mse
    assert searched <= quantize(x, QuantSpec(bits=4, estimator="minmax", **extra)).mse
