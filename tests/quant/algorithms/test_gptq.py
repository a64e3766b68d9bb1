"""GPTQ against the paper's update written directly (explicit inverse Hessian, no Cholesky, no
lazy batches), and the properties that define it."""

import numpy as np
import pytest

from qviz.quant import QuantSpec, SpecError, quantize
from qviz.quant.algorithms.gptq import gptq, hessian, inverse_hessian_factor, invert_lower
from qviz.quant.qparams import qparams_from_range


def slow_gptq(w, x, spec, percdamp=0.01, order=None):
    """Optimal Brain Quantization, one column at a time, in float64 loops (Frantar et al. 2023, eq. 2-3).

    After quantizing column q: w_F -= (w_q - Q(w_q)) / [H_F^-1]_qq * [H_F^-1]_{q,F}, and H_F^-1 loses
    q by one step of Gaussian elimination. Group scales are taken from the updated weight when the
    group's first column comes up (spec.granularity == "group", order must be the identity then).
    """
    w = w.astype(np.float64).copy()
    out, n = w.shape
    order = list(range(n)) if order is None else list(order)
    h = 2.0 / x.shape[0] * x.T.astype(np.float64) @ x.astype(np.float64)
    h += percdamp * np.mean(np.diag(h)) * np.eye(n)
    hinv = np.linalg.inv(h)
    plain = quantize(w.astype(np.float32), spec)
    if spec.granularity == "group":  # (filled in when each group starts)
        scale, zp = np.ones((out, n)), np.zeros((out, n), dtype=np.int64)
    else:  # per channel / tensor: fixed up front, from the original weight
        scale = np.broadcast_to(np.asarray(plain.scale, dtype=np.float64).reshape(-1, 1), (out, n)).copy()
        zp = np.broadcast_to(np.asarray(plain.zero_point).reshape(-1, 1), (out, n)).copy()
    q = np.zeros((out, n), dtype=np.int64)
    remaining = list(order)
    for col in order:
        if spec.granularity == "group" and col % spec.group_size == 0:
            g = slice(col, col + spec.group_size)
            lo, hi = w[:, g].min(axis=1), w[:, g].max(axis=1)
            s, z = qparams_from_range(lo, hi, spec.qmin, spec.qmax, spec.symmetric)
            scale[:, g], zp[:, g] = s[:, None], z[:, None]
        for r in range(out):
            code = np.rint(np.float32(w[r, col]) / np.float32(scale[r, col])) + zp[r, col]
            q[r, col] = min(max(code, spec.qmin), spec.qmax)
        dq = (q[:, col] - zp[:, col]) * scale[:, col].astype(np.float32).astype(np.float64)
        remaining.remove(col)
        err = (w[:, col] - dq) / hinv[col, col]
        for f in remaining:
            w[:, f] -= err * hinv[col, f]
        hinv = hinv - np.outer(hinv[:, col], hinv[col, :]) / hinv[col, col]
    return q


def correlated_layer(seed=0, out=6, n=16, rows=64, rank=4):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, rank)) @ rng.normal(size=(rank, n)) + 0.05 * rng.normal(size=(rows, n))
    return rng.normal(size=(out, n)).astype(np.float32), x.astype(np.float32)


CHANNEL4 = QuantSpec(bits=4, granularity="channel", axis=0)


@pytest.mark.parametrize("block_size", [1, 3, 16, 128])
def test_matches_the_column_by_column_reference(block_size):
    w, x = correlated_layer()
    r = gptq(w, x, CHANNEL4, block_size=block_size)
    np.testing.assert_array_equal(r.q, slow_gptq(w, x, CHANNEL4))


def test_group_scales_are_computed_when_the_group_starts():
    """block_size == group_size: every group starts a block, where the reference's W is up to date."""
    w, x = correlated_layer(1)
    spec = QuantSpec(bits=3, symmetric=False, granularity="group", axis=1, group_size=4)
    r = gptq(w, x, spec, block_size=4)
    np.testing.assert_array_equal(r.q, slow_gptq(w, x, spec))
    assert not r.info["same_grid_as_rtn"]  # later groups see the error pushed onto them


def test_act_order_visits_columns_by_decreasing_hessian_diagonal():
    w, x = correlated_layer(2)
    x = x * np.linspace(0.2, 3.0, x.shape[1], dtype=np.float32)  # distinct diag(H)
    order = np.argsort(-np.diag(hessian(x)), kind="stable")
    r = gptq(w, x, CHANNEL4, act_order=True, block_size=5)
    np.testing.assert_array_equal(r.q, slow_gptq(w, x, CHANNEL4, order=order))


def test_act_order_with_groups_keeps_contiguous_groups_on_the_rtn_grid():
    w, x = correlated_layer(3)
    spec = QuantSpec(bits=4, granularity="group", axis=1, group_size=8)
    r = gptq(w, x, spec, act_order=True)
    assert r.info["same_grid_as_rtn"] and r.scale.shape == (6, 2)


@pytest.mark.parametrize(
    "spec",
    [CHANNEL4, QuantSpec(bits=4, symmetric=False, granularity="group", axis=1, group_size=8), QuantSpec(bits=3)],
    ids=["channel", "group", "tensor"],
)
def test_lower_output_error_than_rtn_on_correlated_inputs(spec):
    w, x = correlated_layer(4, out=16, n=32, rows=128)
    r = gptq(w, x, spec)
    rtn = quantize(w, spec)
    err = np.mean((x @ (r.weight - w).T) ** 2)
    assert err < 0.5 * np.mean((x @ (rtn.x_dq - w).T) ** 2)
    np.testing.assert_allclose(err, r.info["output_mse"], rtol=1e-5)
    assert r.q.min() >= spec.qmin and r.q.max() <= spec.qmax


@pytest.mark.parametrize("act_order", [False, True])
def test_equals_rtn_when_the_hessian_is_diagonal(act_order):
    """x.T @ x diagonal: no column's error can be pushed onto another, whatever the dampening."""
    rng = np.random.default_rng(5)
    w = rng.normal(size=(8, 16)).astype(np.float32)
    x = np.diag(rng.uniform(0.5, 2.0, 16)).astype(np.float32)
    for spec in (CHANNEL4, QuantSpec(bits=4, granularity="group", axis=1, group_size=4)):
        r = gptq(w, x, spec, percdamp=0.5, act_order=act_order)
        rtn = quantize(w, spec)
        np.testing.assert_array_equal(r.q, rtn.q)
        np.testing.assert_array_equal(r.scale, rtn.scale)
        np.testing.assert_array_equal(r.weight, rtn.x_dq)


def test_dampening_moves_towards_rtn():
    """lambda -> large makes H^-1 nearly diagonal: the error feedback fades and GPTQ approaches RTN."""
    w, x = correlated_layer(6)
    rtn = quantize(w, CHANNEL4).q
    changed = [int(np.sum(gptq(w, x, CHANNEL4, percdamp=p).q != rtn)) for p in (0.01, 1e6)]
    assert changed[1] < changed[0] and changed[1] <= 2


def test_inverse_hessian_factor():
    _, x = correlated_layer(7)
    h = hessian(x.astype(np.float64))
    u = inverse_hessian_factor(h, 0.01)
    assert np.allclose(np.triu(u), u) and np.all(np.diag(u) > 0)
    want = np.linalg.inv(h + 0.01 * np.mean(np.diag(h)) * np.eye(h.shape[0]))
    np.testing.assert_allclose(u.T @ u, want, rtol=1e-8, atol=1e-10)
    lower = np.tril(np.random.default_rng(0).normal(size=(150, 150))) + 20 * np.eye(150)
    np.testing.assert_allclose(invert_lower(lower), np.linalg.inv(lower), atol=1e-12)


def test_dead_input_columns_are_quantized_but_not_zeroed():
    w, x = correlated_layer(8)
    x[:, 2] = 0.0
    r = gptq(w, x, CHANNEL4)
    assert np.all(np.isfinite(r.weight)) and np.any(r.weight[:, 2] != 0)


@pytest.mark.parametrize(
    ("x", "spec", "message"),
    [
        (None, CHANNEL4, "needs calibration inputs"),
        (np.zeros((0, 16)), CHANNEL4, "0 rows"),
        (np.ones((4, 15)), CHANNEL4, "shape mismatch"),
        ("ok", QuantSpec(bits=4, granularity="group", axis=1, group_size=5), "group_size must divide"),
        ("ok", QuantSpec(bits=4, granularity="channel", axis=1), "axis 0"),
    ],
    ids=["no-data", "no-rows", "features", "group-size", "channel-axis"],
)
def test_bad_input_is_a_spec_error(x, spec, message):
    w, good = correlated_layer()
    with pytest.raises(SpecError, match=message):
        gptq(w, good if isinstance(x, str) else x, spec)
