"""Fixed point Qm.n: golden examples per rounding mode, saturation, wide formats; pow2 scales."""

import numpy as np
import pytest

from qviz.quant import QuantSpec
from qviz.quant.api import quantize
from qviz.quant.fixed_point import integer_bits, quantize_fixed_point


def q34(**changes):
    return QuantSpec(scheme="fixed_point", bits=8, frac_bits=4, **changes)  # Q3.4, signed


@pytest.mark.parametrize(
    "rounding, want",
    [
        ("half_even", [1.3125, 1.0, -1.0, 1.125]),
        ("half_away", [1.3125, 1.0625, -1.0625, 1.125]),
        ("floor", [1.25, 1.0, -1.0625, 1.0625]),
        ("trunc", [1.25, 1.0, -1.0, 1.0625]),
    ],
)
def test_golden_q3_4(rounding, want):
    # 1.3 * 16 = 20.8; 1.03125 * 16 = 16.5 (a tie); 1.09375 * 16 = 17.5 (a tie, 18 is even)
    x = np.float32([1.3, 1.03125, -1.03125, 1.09375])
    r = quantize(x, q34(rounding=rounding))
    np.testing.assert_array_equal(r.x_dq, np.float32(want))
    np.testing.assert_array_equal(r.q, (np.float64(want) * 16).astype(np.int32))


def test_saturation_and_range():
    r = quantize(np.float32([100.0, -100.0, 7.96, -8.0]), q34())
    assert r.q.tolist() == [127, -128, 127, -128]
    np.testing.assert_array_equal(r.x_dq, np.float32([7.9375, -8.0, 7.9375, -8.0]))
    assert (r.lo[0], r.hi[0]) == (-8.0, 7.9375)
    assert r.clipped_fraction == 0.75  # 7.96 > 7.9375 saturates too; -8.0 is on the grid


def test_unsigned_and_restricted():
    r = quantize(np.float32([-1.0, 0.3, 20.0]), q34(signed=False))  # UQ4.4: 0 .. 15.9375
    np.testing.assert_array_equal(r.x_dq, np.float32([0.0, 0.3125, 15.9375]))
    r = quantize(np.float32([-100.0]), q34(restricted_range=True))
    assert r.q.tolist() == [-127]


def test_scale_and_zero_point_and_integer_bits():
    r = quantize(np.float32([0.5]), q34())
    assert r.scale == np.float32(1 / 16) and r.zero_point == 0
    assert r.extra["integer_bits"] == 3 == integer_bits(q34())
    assert integer_bits(q34(signed=False)) == 4
    assert integer_bits(QuantSpec(scheme="fixed_point", bits=8, frac_bits=8)) == -1  # |x| < 0.5


def test_wide_formats_are_exact():
    x = np.float64([1.3, 1e9, -1e9, 123456.789])
    spec = QuantSpec(scheme="fixed_point", bits=32, frac_bits=4)
    r = quantize(x, spec)
    assert r.q.tolist() == [21, 2**31 - 1, -(2**31), 1975309]
    np.testing.assert_array_equal(r.x_dq, r.q / 16.0)


def test_non_finite_follow_the_int_scheme():
    r = quantize(np.float32([np.nan, np.inf, -np.inf]), q34())
    assert r.q.tolist() == [-128, 127, -128]
    assert np.all(np.isfinite(r.x_dq))


def test_stochastic_rounding_is_unbiased_and_seeded():
    x = np.full(20_000, 0.3, np.float32)  # 0.3 * 16 = 4.8 -> 5 with p 0.8
    a = quantize_fixed_point(x, q34(rounding="stochastic", seed=1))
    b = quantize_fixed_point(x, q34(rounding="stochastic", seed=1))
    np.testing.assert_array_equal(a.q, b.q)
    assert set(np.unique(a.q)) == {4, 5}
    assert a.x_dq.mean() == pytest.approx(0.3, abs=0.003)


def test_per_channel_spec_gives_the_same_codes():
    x = np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32)
    a = quantize(x, q34())
    b = quantize(x, q34(granularity="channel", axis=1))
    np.testing.assert_array_equal(a.q, b.q)
    assert b.lo.shape == (8,)


@pytest.mark.parametrize("bits", [4, 8])
def test_pow2_scale_is_a_power_of_two_rounded_up(bits):
    x = np.random.default_rng(bits).normal(size=(4, 64)).astype(np.float32) * 3
    spec = QuantSpec(bits=bits, pow2_scale=True, granularity="channel", axis=0)
    r = quantize(x, spec)
    log2 = np.log2(r.scale.astype(np.float64))
    np.testing.assert_array_equal(log2, np.round(log2))
    plain = quantize(x, spec.replace(pow2_scale=False)).scale
    assert np.all((r.scale >= plain) & (r.scale < 2 * plain))
