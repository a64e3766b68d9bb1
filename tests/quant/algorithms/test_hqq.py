"""HQQ against the reference's proximal iterations written as loops over groups and weights."""

import math

import numpy as np
import pytest

from qviz.quant import QuantSpec, SpecError, quantize
from qviz.quant.algorithms.hqq import hqq, shrink_lp

SPEC = QuantSpec(bits=3, signed=False, symmetric=False, granularity="group", axis=1, group_size=16)


def slow_shrink(u, beta, p):
    return math.copysign(max(abs(u) - abs(u) ** (p - 1) / beta, 0.0), u) if u != 0 else 0.0


def slow_hqq(w, spec, p=0.7, beta=10.0, kappa=1.01, iterations=20):
    """Per group, python loops: round, dequantize, shrink the error, refit the zero point; keep the
    iterate with the smallest mean |w - w_r| (RTN first), stop when it stops improving."""
    plain = quantize(w, spec)
    out, n = w.shape
    g = spec.group_size
    s = np.repeat(np.asarray(plain.scale, dtype=np.float64), g, axis=1)
    z = np.repeat(np.asarray(plain.zero_point, dtype=np.float64), g, axis=1)
    best_q, best_z = plain.q.astype(np.float64), z.copy()
    best = np.mean(np.abs(w - (best_q - z) * s))
    for step in range(iterations):
        q = np.zeros_like(w)
        for i in range(out):
            for j in range(n):
                q[i, j] = min(max(np.rint(w[i, j] / s[i, j] + z[i, j]), spec.qmin), spec.qmax)
        w_r = (q - z) * s
        err = np.mean(np.abs(w - w_r))
        if err >= best and step:
            break
        if err < best:
            best_q, best_z, best = q, z.copy(), err
        new_z = z.copy()
        for i in range(out):
            for k in range(0, n, g):
                vals = [
                    q[i, j] - (w[i, j] - slow_shrink(w[i, j] - w_r[i, j], beta, p)) / s[i, j] for j in range(k, k + g)
                ]
                new_z[i, k : k + g] = sum(vals) / g
        z = new_z
        beta *= kappa
    return best_q, best_z[:, ::g], best


def heavy_tailed(seed=0, shape=(6, 32)):
    return np.random.default_rng(seed).standard_t(3, size=shape)


def test_shrink_matches_the_formula():
    u = np.array([-2.0, -0.3, 0.0, 0.01, 0.5, 3.0])
    np.testing.assert_allclose(shrink_lp(u, 10.0, 0.7), [slow_shrink(v, 10.0, 0.7) for v in u], atol=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_loop_reference(seed):
    w = heavy_tailed(seed)
    r = hqq(w, SPEC)
    q, z, err = slow_hqq(w, SPEC)
    np.testing.assert_array_equal(r.q, q.astype(np.int32))
    np.testing.assert_allclose(r.zero_point, z, rtol=1e-6)
    assert r.info["mean_abs_error"] == pytest.approx(err, rel=1e-6)


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_never_worse_than_rtn_on_its_loss_and_same_scales(bits):
    w = heavy_tailed(3, (16, 64))
    spec = QuantSpec(bits=bits, signed=False, symmetric=False, granularity="group", axis=1, group_size=32)
    r = hqq(w, spec)
    plain = quantize(w, spec)
    assert np.mean(np.abs(w - r.weight)) <= np.mean(np.abs(w - plain.x_dq)) + 1e-15
    np.testing.assert_array_equal(r.scale, plain.scale)
    assert r.q.min() >= spec.qmin and r.q.max() <= spec.qmax
    dq = (r.q - np.repeat(r.zero_point, 32, axis=1).astype(np.float64)) * np.repeat(r.scale, 32, axis=1)
    np.testing.assert_allclose(r.weight, dq, rtol=1e-12, atol=1e-12)


def test_per_channel_grid():
    w = heavy_tailed(4)
    spec = QuantSpec(bits=4, symmetric=False, granularity="channel", axis=0)
    r = hqq(w, spec)
    assert r.zero_point.shape == (6,) and r.info["mean_abs_error"] <= r.info["rtn_mean_abs_error"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"spec": QuantSpec(bits=4, granularity="group", axis=1, group_size=16)}, "symmetric=false"),
        ({"spec": SPEC.replace(group_size=5)}, "group_size must divide"),
        ({"p": 1.5}, "0 < p < 1"),
        ({"iterations": 0}, "iterations"),
    ],
    ids=["symmetric", "group-size", "p", "iterations"],
)
def test_bad_input_is_a_spec_error(kwargs, message):
    with pytest.raises(SpecError, match=message):
        hqq(heavy_tailed(), **{"spec": SPEC, **kwargs})
