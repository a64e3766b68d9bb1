"""AWQ: scales from the paper's formula in loops, the search against a direct recomputation."""

import numpy as np
import pytest

from qviz.quant import QuantSpec, SpecError, quantize
from qviz.quant.algorithms.awq import awq_scales, search_awq

SPEC = QuantSpec(bits=4, symmetric=False, granularity="group", axis=1, group_size=16)


def slow_scales(x, alpha):
    s = [max(np.mean([abs(v) for v in x[:, j]]) ** alpha, 1e-4) for j in range(x.shape[1])]
    return np.array(s) / np.sqrt(max(s) * min(s))


def layer(seed=0, out=12, n=48, rows=128):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, n)) * rng.lognormal(0, 1.2, size=n)  # a few salient input channels
    return rng.normal(size=(out, n)).astype(np.float32), x.astype(np.float32)


@pytest.mark.parametrize("alpha", [0.0, 0.4, 1.0])
def test_scales_match_the_formula(alpha):
    _, x = layer()
    np.testing.assert_allclose(
        awq_scales(np.abs(x).mean(axis=0, dtype=np.float64), alpha), slow_scales(x, alpha), rtol=1e-6
    )


def test_search_recomputes_and_is_never_worse_than_rtn():
    w, x = layer()
    alphas = [0.0, 0.25, 0.5, 0.75, 1.0]
    r = search_awq(w, x, SPEC, alphas=alphas)
    y = x.astype(np.float64) @ w.T.astype(np.float64)
    slow = []
    for a in alphas:
        s = slow_scales(x, a).astype(np.float32)
        w_eff = quantize(w * s, SPEC).x_dq / s
        slow.append(np.mean((x.astype(np.float64) @ w_eff.T.astype(np.float64) - y) ** 2))
    np.testing.assert_allclose(r.info["errors"], slow, rtol=1e-6)
    assert r.info["alpha"] == alphas[int(np.argmin(slow))]
    assert min(slow) <= slow[0] == pytest.approx(r.info["rtn_error"])
    assert min(slow) < 0.9 * r.info["rtn_error"]  # salient channels: AWQ helps here
    # deployable: the codes of w * s on the RTN grid of w * s, the producer divides by s
    np.testing.assert_array_equal(r.q, quantize(w * r.input_scale.astype(np.float32), SPEC).q)
    eff = r.effective_weight()
    assert np.mean((x @ eff.T - y) ** 2) == pytest.approx(min(slow), rel=1e-5)


def test_alpha_zero_is_plain_rtn():
    w, x = layer(1)
    r = search_awq(w, x, SPEC, alphas=[0.0])
    np.testing.assert_array_equal(r.input_scale, np.ones(w.shape[1]))
    np.testing.assert_array_equal(r.q, quantize(w, SPEC).q)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": None}, "needs calibration inputs"),
        ({"x": np.ones((3, 47))}, "shape mismatch"),
        ({"spec": SPEC.replace(group_size=10)}, "group_size must divide"),
        ({"alphas": []}, "alphas"),
    ],
    ids=["no-data", "features", "group-size", "empty-grid"],
)
def test_bad_input_is_a_spec_error(kwargs, message):
    w, x = layer()
    with pytest.raises(SpecError, match=message):
        search_awq(w, **{"x": x, "spec": SPEC, **kwargs})
