"""Metrics: golden values, the documented edge cases (never NaN), and agreement with QuantResult."""

import math

import numpy as np
import pytest

from qviz.quant import QuantSpec
from qviz.quant.api import quantize
from qviz.quant.metrics import (
    METRICS,
    cosine_similarity,
    max_abs_error,
    mse,
    per_channel_metrics,
    rmse,
    sqnr_db,
    summary,
)

X = [1.0, -1.0, 2.0, 0.0]
DQ = [1.0, -0.9, 2.2, 0.1]


def test_golden_values():
    # errors 0, -0.1, -0.2, -0.1: sum of squares 0.06; signal 6
    assert mse(X, DQ) == pytest.approx(0.015)
    assert rmse(X, DQ) == pytest.approx(math.sqrt(0.015))
    assert max_abs_error(X, DQ) == pytest.approx(0.2)
    assert sqnr_db(X, DQ) == pytest.approx(10 * math.log10(6 / 0.06))
    dot, nx, nd = 1 + 0.9 + 4.4, math.sqrt(6), math.sqrt(1 + 0.81 + 4.84 + 0.01)
    assert cosine_similarity(X, DQ) == pytest.approx(dot / (nx * nd))


def test_summary_has_every_metric_as_plain_numbers():
    s = summary(np.float32(X), np.float32(DQ))
    assert set(s) == set(METRICS) | {"count"} and s["count"] == 4
    assert all(type(v) is float for k, v in s.items() if k != "count")


@pytest.mark.parametrize(
    "x, x_dq, want",
    [
        ([1.0, 2.0], [1.0, 2.0], {"mse": 0.0, "sqnr_db": math.inf, "cosine_similarity": 1.0}),
        ([0.0, 0.0], [0.0, 0.0], {"mse": 0.0, "sqnr_db": math.inf, "cosine_similarity": 1.0}),
        ([], [], {"mse": 0.0, "max_abs_error": 0.0, "sqnr_db": math.inf, "cosine_similarity": 1.0}),
        ([0.0, 0.0], [0.0, 1.0], {"mse": 0.5, "sqnr_db": -math.inf, "cosine_similarity": 0.0}),
        ([1.0, 1.0], [0.0, 0.0], {"mse": 1.0, "sqnr_db": 0.0, "cosine_similarity": 0.0}),
        ([1.0, np.nan, np.inf], [1.0, 5.0, 0.0], {"mse": 0.0, "sqnr_db": math.inf, "count": 1}),
        (
            [1.0, 2.0],
            [1.0, np.inf],
            {"mse": math.inf, "max_abs_error": math.inf, "sqnr_db": -math.inf, "cosine_similarity": 0.0},
        ),
        ([1.0, 2.0], [1.0, np.nan], {"mse": math.inf, "sqnr_db": -math.inf, "cosine_similarity": 0.0}),
        ([1e200, 1e200], [1e200, 0.0], {"sqnr_db": 10 * math.log10(2), "cosine_similarity": math.sqrt(0.5)}),
    ],
    ids=[
        "exact",
        "all-zero",
        "empty",
        "zero-signal",
        "all-error",
        "x-non-finite-ignored",
        "dq-overflow",
        "dq-nan",
        "huge-float64",
    ],
)
def test_edge_cases(x, x_dq, want):
    s = summary(np.asarray(x, np.float64), np.asarray(x_dq, np.float64))
    for key, value in want.items():
        assert s[key] == pytest.approx(value), key
    assert not any(isinstance(v, float) and math.isnan(v) for v in s.values())


def test_never_nan_on_random_garbage():
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.choice([0.0, 1.0, -3.0, np.nan, np.inf, -np.inf, 1e300], size=12)
        dq = rng.choice([0.0, 1.0, np.nan, np.inf, 1e-300], size=12)
        assert not np.isnan(list(summary(x, dq).values())).any()


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="same shape"):
        summary([1.0, 2.0], [1.0])


def test_per_channel_matches_slices():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4, 5)).astype(np.float32)
    dq = x + rng.normal(scale=0.1, size=x.shape).astype(np.float32)
    table = per_channel_metrics(x, dq, axis=1)
    assert table["channel"].tolist() == [0, 1, 2, 3]
    for c in range(4):
        want = summary(x[:, c], dq[:, c])
        for name in METRICS:
            assert table[name][c] == pytest.approx(want[name], rel=1e-12)


def test_mse_agrees_with_quant_result():
    x = np.random.default_rng(2).laplace(size=(8, 32)).astype(np.float32)
    x[0, 0] = np.nan
    r = quantize(x, QuantSpec(bits=3, estimator="percentile", percentile=95.0))
    assert mse(x, r.x_dq) == pytest.approx(r.mse, rel=1e-9)


def test_sqnr_gains_about_6_db_per_bit():
    x = np.random.default_rng(3).uniform(-1, 1, size=20_000).astype(np.float32)
    gains = np.diff([sqnr_db(x, quantize(x, QuantSpec(bits=b)).x_dq) for b in (6, 7, 8)])
    np.testing.assert_allclose(gains, 6.02, atol=0.2)
