"""AdaRound: the paper's pieces written out directly, the gradient against finite differences, and
the properties that define the method."""

import math

import numpy as np
import pytest

from qviz.quant import QuantSpec, SpecError, quantize
from qviz.quant.algorithms.adaround import _Problem, adaround, beta_at, rectified_sigmoid
from qviz.quant.algorithms.algorithm_result import AlgorithmCancelled

SPEC = QuantSpec(bits=4, granularity="channel", axis=0)


def conv_like_layer(seed=0, out=8, n=36, rows=400):
    """A layer whose inputs are correlated and non-negative (im2col rows after a ReLU)."""
    rng = np.random.default_rng(seed)
    x = np.maximum(rng.normal(size=(rows, 6)) @ rng.normal(size=(6, n)), 0.0)
    return (0.1 * rng.normal(size=(out, n))).astype(np.float32), x.astype(np.float32)


def test_rectified_sigmoid_matches_the_formula():
    v = np.linspace(-8, 8, 33)
    slow = [min(1.0, max(0.0, 1 / (1 + math.exp(-t)) * 1.2 - 0.1)) for t in v]
    np.testing.assert_allclose(rectified_sigmoid(v), slow, atol=1e-15)
    assert rectified_sigmoid(np.array([-10.0]))[0] == 0.0 and rectified_sigmoid(np.array([10.0]))[0] == 1.0


def test_beta_is_annealed_from_20_to_2_after_the_warm_start():
    assert beta_at(0, 100) == 20.0 and beta_at(20, 100) == 20.0
    assert beta_at(60, 100) == pytest.approx(11.0) and beta_at(100, 100) == 2.0


def slow_loss(problem, v, rows, reg_weight, beta):
    """The paper's objective, term by term (float64 loops over weights for the regularizer)."""
    h = rectified_sigmoid(v)
    w_soft = np.clip(problem.floor + h, problem.lo, problem.hi) * problem.s
    xb = problem.x[rows]
    recon = np.sum((xb @ (w_soft - problem.w).T) ** 2) / len(rows)
    reg = sum(1 - abs(2 * hv - 1) ** beta for hv in h.ravel()) if beta is not None else 0.0
    return recon + reg_weight * reg


@pytest.mark.parametrize("beta", [None, 2.0, 7.5])
def test_gradient_matches_finite_differences(beta):
    w, x = conv_like_layer(out=3, n=5, rows=20)
    plain = quantize(w, SPEC)
    problem = _Problem(w, x, SPEC, plain.scale, plain.zero_point)
    v = np.random.default_rng(1).normal(scale=0.5, size=w.shape)
    rows = np.arange(20)
    g = problem.gradient(v, rows, 0.01, beta)
    eps = 1e-6
    for idx in [(0, 0), (1, 3), (2, 4), (0, 2)]:
        vp, vm = v.copy(), v.copy()
        vp[idx] += eps
        vm[idx] -= eps
        num = (slow_loss(problem, vp, rows, 0.01, beta) - slow_loss(problem, vm, rows, 0.01, beta)) / (2 * eps)
        assert g[idx] == pytest.approx(num, rel=1e-4, abs=1e-8)


def test_lower_reconstruction_error_than_nearest_and_codes_are_floor_or_ceil():
    w, x = conv_like_layer()
    r = adaround(w, x, SPEC, iterations=400, seed=3)
    plain = quantize(w, SPEC)
    err = np.mean((x @ (r.weight - w).T) ** 2)
    assert err < 0.8 * np.mean((x @ (plain.x_dq - w).T) ** 2)
    code = w / np.asarray(plain.scale)[:, None]
    lo, hi = np.clip(np.floor(code), SPEC.qmin, SPEC.qmax), np.clip(np.ceil(code), SPEC.qmin, SPEC.qmax)
    assert np.all((r.q == lo) | (r.q == hi))
    np.testing.assert_array_equal(r.scale, plain.scale)  # only rounding decisions change
    np.testing.assert_array_equal(r.zero_point, plain.zero_point)
    assert r.info["flips"] == int(np.sum(r.q != plain.q)) > 0
    assert r.info["flips_up"] + r.info["flips_down"] == r.info["flips"]


def test_asymmetric_group_grid():
    w, x = conv_like_layer(2)
    spec = QuantSpec(bits=3, symmetric=False, granularity="group", axis=1, group_size=12)
    r = adaround(w, x, spec, iterations=300)
    plain = quantize(w, spec)
    assert r.info["output_mse"] < r.info["rtn_output_mse"]
    assert r.q.min() >= spec.qmin and r.q.max() <= spec.qmax
    assert np.max(np.abs(r.q.astype(int) - plain.q)) <= 1


def test_deterministic_for_a_seed():
    w, x = conv_like_layer(4)
    a, b = (adaround(w, x, SPEC, iterations=60, batch_size=32, seed=9) for _ in range(2))
    np.testing.assert_array_equal(a.q, b.q)


def test_progress_and_cancel():
    w, x = conv_like_layer(5)
    seen = []
    adaround(w, x, SPEC, iterations=50, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (50, 50) and len(seen) == 50
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(AlgorithmCancelled, match="after 3 of 50"):
        adaround(w, x, SPEC, iterations=50, cancel=cancel)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": None}, "needs calibration inputs"),
        ({"x": np.ones((5, 3))}, "shape mismatch"),
        ({"iterations": 0}, "iterations"),
        ({"spec": QuantSpec(bits=4, granularity="group", axis=1, group_size=7)}, "group_size must divide"),
    ],
    ids=["no-data", "features", "iterations", "group-size"],
)
def test_bad_input_is_a_spec_error(kwargs, message):
    w, x = conv_like_layer()
    with pytest.raises(SpecError, match=message):
        adaround(w, **{"x": x, "spec": SPEC, **kwargs})
