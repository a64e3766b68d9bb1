"""Properties of integer quantization that hold for any data: error bound, exact zero, 6 dB per bit."""

import numpy as np
import pytest

from qviz.quant import QuantSpec, fake_quantize, quantize, quantize_linear
from qviz.quant.granularity import from_groups, params_to_rows, to_groups
from qviz.quant.qparams import qparams_from_range

GRANULARITIES = [("tensor", {}), ("channel", {"axis": 1}), ("group", {"axis": 1, "group_size": 8})]
VARIANTS = [(True, True), (True, False), (False, True), (False, False)]  # (signed, symmetric)


def variant_id(v):
    return ("int" if v[0] else "uint") + ("-sym" if v[1] else "-asym")


def per_element(row_values, x, spec):
    """Per-group values [G] spread to x's shape (test helper)."""
    n = to_groups(x, spec.granularity, spec.axis, spec.group_size).shape[1]
    return from_groups(
        np.repeat(np.asarray(row_values)[:, None], n, axis=1), x.shape, spec.granularity, spec.axis, spec.group_size
    )


@pytest.mark.parametrize("bits", [2, 4, 8, 16])
@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
@pytest.mark.parametrize("gran", GRANULARITIES, ids=[g[0] for g in GRANULARITIES])
def test_error_at_most_half_a_step_inside_the_range(gran, variant, bits):
    x = (np.random.default_rng(bits).normal(size=(6, 32)) * 3 + 0.7).astype(np.float32)
    spec = QuantSpec(bits=bits, signed=variant[0], symmetric=variant[1], granularity=gran[0], **gran[1])
    r = quantize(x, spec)
    scale = per_element(params_to_rows(r.scale, spec.granularity, spec.axis), x, spec).astype(np.float64)
    # inside the estimated range (minmax: everything). The grid's ends may sit up to half a step
    # inside it (the zero point is rounded; a signed symmetric grid is one code short at +a).
    inside = (x >= per_element(r.extra["range_lo"], x, spec)) & (x <= per_element(r.extra["range_hi"], x, spec))
    assert inside.all()
    err = np.abs(x.astype(np.float64) - r.x_dq)
    float32_rounding = np.abs(x) * 2.0**-23
    assert np.all(err <= scale / 2 + float32_rounding)


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
@pytest.mark.parametrize("gran", GRANULARITIES, ids=[g[0] for g in GRANULARITIES])
@pytest.mark.parametrize("bits", [3, 8])
def test_zero_is_exact(gran, variant, bits):
    rng = np.random.default_rng(0)
    x = (rng.uniform(0.1, 5.0, size=(4, 16)) * rng.choice([-1, 1], size=(4, 16))).astype(np.float32)
    x[rng.random(x.shape) < 0.3] = 0.0
    x[:, 3] = 0.0
    spec = QuantSpec(bits=bits, signed=variant[0], symmetric=variant[1], granularity=gran[0], **gran[1])
    r = quantize(x, spec)
    assert np.all(r.x_dq[x == 0] == 0.0)


def test_zero_is_exact_for_positive_only_data():
    x = np.array([0.0, 0.3, 2.0, 7.0], np.float32)  # the range [0.3, 7] is widened to [0, 7]
    assert quantize(x, QuantSpec(signed=False, symmetric=False)).x_dq[0] == 0.0


def sqnr_db(x, x_dq):
    return 10 * np.log10(np.sum(x.astype(np.float64) ** 2) / np.sum((x - x_dq.astype(np.float64)) ** 2))


@pytest.mark.parametrize("variant", [(True, True), (False, False)], ids=variant_id)
def test_sqnr_rises_six_db_per_bit_on_uniform_data(variant):
    x = np.random.default_rng(5).uniform(-1, 1, size=200_000).astype(np.float32)
    sqnr = [
        sqnr_db(x, quantize(x, QuantSpec(bits=b, signed=variant[0], symmetric=variant[1])).x_dq) for b in range(4, 13)
    ]
    steps = np.diff(sqnr)
    assert np.all((steps > 5.6) & (steps < 6.5)), steps
    assert abs(sqnr[4] - 6.02 * 8) < 1.0  # uniform data: SQNR = 6.02 * bits dB


def test_worked_example_half_in_minus_one_one_uint8_is_191():
    scale, zp = qparams_from_range(-1.0, 1.0, 0, 255, symmetric=False)
    assert zp == 127 and scale == np.float32(2 / 255)
    assert quantize_linear(np.float32(0.5), scale, zp, 0, 255) == 191
    r = quantize([-1.0, 0.5, 1.0], QuantSpec(bits=8, signed=False, symmetric=False))
    assert r.q[1] == 191


@pytest.mark.parametrize(
    "mode, want",
    [
        ("half_even", [-2, -2, -1, 0, 0, 1, 2, 2]),
        ("half_away", [-3, -2, -1, -1, 1, 1, 2, 3]),
        ("floor", [-3, -2, -2, -1, 0, 1, 1, 2]),
        ("trunc", [-2, -1, -1, 0, 0, 1, 1, 2]),
    ],
)
def test_rounding_modes(mode, want):
    x = np.array([-2.5, -1.5, -1.2, -0.5, 0.5, 1.2, 1.5, 2.5], np.float32)
    np.testing.assert_array_equal(quantize_linear(x, 1.0, 0, -128, 127, rounding=mode), want)
    np.testing.assert_array_equal(fake_quantize(x, 1.0, 0, -128, 127, rounding=mode), want)


def test_stochastic_rounding_is_unbiased_and_seeded():
    x = np.full(20_000, 0.3, np.float32)
    q = quantize_linear(x, 1.0, 0, -128, 127, rounding="stochastic", seed=3)
    assert set(np.unique(q)) == {0, 1} and abs(q.mean() - 0.3) < 0.02
    np.testing.assert_array_equal(q, quantize_linear(x, 1.0, 0, -128, 127, rounding="stochastic", seed=3))
    np.testing.assert_array_equal(q, fake_quantize(x, 1.0, 0, -128, 127, rounding="stochastic", seed=3))
    assert (q != quantize_linear(x, 1.0, 0, -128, 127, rounding="stochastic", seed=4)).any()


def test_restricted_range_drops_the_most_negative_code():
    x = np.linspace(-1, 1, 101).astype(np.float32)
    r = quantize(x, QuantSpec(bits=8, restricted_range=True))
    assert r.q.min() == -127 and r.q.max() == 127 and r.clipped_fraction == 0.0


def test_pow2_scale_is_a_power_of_two_and_covers_the_range():
    x = np.random.default_rng(6).normal(size=300).astype(np.float32)
    r = quantize(x, QuantSpec(bits=8, pow2_scale=True))
    assert np.log2(r.scale) == np.round(np.log2(r.scale))
    assert r.clipped_fraction == 0.0
