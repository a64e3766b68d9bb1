"""quantize(x, spec): input types, shapes, edge cases and the non-finite rule (see qviz/quant/api.py)."""

import numpy as np
import pytest

from qviz.quant import QuantSpec, SpecError, dequantize, quantize

INT8 = QuantSpec(bits=8)
UINT8_ASYM = QuantSpec(bits=8, signed=False, symmetric=False)


# ---- input types and output dtype -------------------------------------------------------


@pytest.mark.parametrize(
    "x, dtype",
    [
        ([0.5, -1.0, 1.0], np.float32),
        ((1, 2, 3), np.float32),
        (np.array([1, 2, 3], np.int64), np.float32),
        (np.array([True, False]), np.float32),
        (np.array([0.5, -1.0], np.float16), np.float32),
        (np.array([0.5, -1.0], np.float32), np.float32),
        (np.array([0.5, -1.0], np.float64), np.float64),
        (0.25, np.float32),
    ],
    ids=["list", "tuple", "int64", "bool", "float16", "float32", "float64", "python-float"],
)
def test_output_dtype(x, dtype):
    r = quantize(x, INT8)
    assert r.x_dq.dtype == dtype and r.q.dtype == np.int32
    assert r.x_dq.shape == np.shape(x)


def test_float64_gives_the_float32_codes_on_float32_data():
    x = np.random.default_rng(0).normal(size=1000).astype(np.float32)
    r32, r64 = quantize(x, UINT8_ASYM), quantize(x.astype(np.float64), UINT8_ASYM)
    np.testing.assert_array_equal(r32.q, r64.q)
    np.testing.assert_allclose(r32.x_dq, r64.x_dq, rtol=1e-6)


@pytest.mark.parametrize(
    "x, match",
    [
        (np.array([1 + 2j]), "real numbers"),
        (["a", "b"], "real numbers"),
        ([[1.0, 2.0], [3.0]], "array of real numbers"),
        (np.array([None, 1.0]), "real numbers"),
    ],
    ids=["complex", "strings", "ragged", "object"],
)
def test_bad_inputs_are_spec_errors(x, match):
    with pytest.raises(SpecError, match=match):
        quantize(x, INT8)


def test_spec_must_be_a_quantspec():
    with pytest.raises(SpecError, match="spec must be a QuantSpec"):
        quantize([1.0], {"bits": 8})


# ---- shapes ---------------------------------------------------------------------------------


def test_zero_d_per_tensor():
    r = quantize(np.float32(0.5), UINT8_ASYM)
    assert r.q.shape == () and r.x_dq.shape == () and r.x_dq == np.float32(0.5)


@pytest.mark.parametrize("granularity", ["channel", "group"])
def test_zero_d_per_channel_or_group_is_a_spec_error(granularity):
    with pytest.raises(SpecError, match="at least 1 dimension"):
        quantize(np.float32(0.5), QuantSpec(granularity=granularity))


@pytest.mark.parametrize(
    "shape, spec",
    [
        ((0,), INT8),
        ((0, 4), QuantSpec(granularity="channel", axis=1)),
        ((3, 0), QuantSpec(granularity="channel", axis=0)),
        ((4, 0), QuantSpec(granularity="group", axis=1, group_size=8)),
    ],
    ids=["flat", "channel-empty-rows", "channel-empty-columns", "group"],
)
def test_empty(shape, spec):
    r = quantize(np.zeros(shape, np.float32), spec)
    assert r.x_dq.shape == shape and r.q.shape == shape
    assert np.all(r.scale == 1.0) and r.mse == 0.0 and r.clipped_fraction == 0.0


@pytest.mark.parametrize(
    "spec, match",
    [
        (QuantSpec(granularity="channel", axis=2), "axis must be in -2..1"),
        (QuantSpec(granularity="group", axis=1, group_size=7), "group_size must divide the length of axis 1"),
        (QuantSpec(scheme="float", granularity="group", axis=1, group_size=7), "group_size must divide"),
    ],
    ids=["axis", "group_size", "group_size-float-scheme"],
)
def test_granularity_is_validated(spec, match):
    with pytest.raises(SpecError, match=match):
        quantize(np.ones((4, 6), np.float32), spec)


def test_per_channel_and_group_layouts():
    x = np.random.default_rng(1).normal(size=(6, 64)).astype(np.float32)
    assert quantize(x, QuantSpec(granularity="channel", axis=0)).scale.shape == (6,)
    assert quantize(x, QuantSpec(granularity="channel", axis=-1)).scale.shape == (64,)
    r = quantize(x, QuantSpec(bits=4, granularity="group", axis=1, group_size=16))
    assert r.scale.shape == (6, 4) and r.zero_point.shape == (6, 4) and r.lo.shape == (24,)


# ---- degenerate values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec", [INT8, UINT8_ASYM, QuantSpec(bits=4, signed=False)], ids=["int8", "uint8-asym", "uint4-sym"]
)
def test_all_zero(spec):
    r = quantize(np.zeros((3, 5), np.float32), spec)
    assert r.scale == 1.0 and np.all(r.q == r.zero_point) and np.all(r.x_dq == 0.0)


@pytest.mark.parametrize("value", [3.0, -3.0, 1e-20])
def test_constant_asymmetric_is_exact(value):
    r = quantize(np.full(7, value, np.float32), UINT8_ASYM)
    np.testing.assert_allclose(r.x_dq, value, rtol=1e-6)


def test_single_element():
    r = quantize([2.5], UINT8_ASYM)
    np.testing.assert_allclose(r.x_dq, [2.5], rtol=1e-6)


def test_huge_float32_stays_finite():
    x = np.array([3e38, -3e38, 1.0], np.float32)
    for spec in (INT8, UINT8_ASYM, QuantSpec(bits=16, signed=False, symmetric=False)):
        r = quantize(x, spec)
        assert np.all(np.isfinite(r.x_dq)) and np.isfinite(r.scale).all() and np.isfinite(r.mse)


def test_float64_beyond_float32_saturates():
    r = quantize(np.array([1e300, -1e300, 0.0]), INT8)
    assert r.scale == np.float32(2.0**127)
    np.testing.assert_array_equal(r.q, [127, -128, 0])
    assert np.all(np.isfinite(r.x_dq))


def test_tiny_below_float32_tiny_gets_scale_one():
    r = quantize(np.array([1e-39, -1e-39], np.float32), INT8)
    assert r.scale == 1.0 and np.all(r.x_dq == 0.0)


def test_tiny_but_normal_keeps_its_resolution():
    x = np.array([1e-30, -1e-30, 5e-31], np.float32)
    r = quantize(x, INT8)
    np.testing.assert_allclose(r.x_dq, x, rtol=0.01)


# ---- the non-finite rule --------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec", [INT8, UINT8_ASYM, QuantSpec(granularity="channel", axis=0)], ids=["int8", "uint8-asym", "per-channel"]
)
def test_nonfinite_int_rule(spec):
    x = np.array([[np.nan, 1.0, -2.0], [np.inf, -np.inf, -0.5]], np.float32)
    r = quantize(x, spec)
    finite = np.isfinite(x)
    clean = quantize(np.where(finite, x, 0.0).astype(np.float32), spec)
    np.testing.assert_array_equal(r.scale, clean.scale)  # ranges ignore non-finite values
    assert r.q[0, 0] == spec.qmin and r.q[1, 0] == spec.qmax and r.q[1, 1] == spec.qmin
    assert np.all(np.isfinite(r.x_dq)) and np.isfinite(r.mse) and r.clipped_fraction == 0.0


def test_all_nan_is_defined():
    r = quantize(np.full(4, np.nan, np.float32), INT8)
    assert r.scale == 1.0 and np.all(r.q == INT8.qmin) and np.all(np.isfinite(r.x_dq))


def test_nonfinite_float_rule():
    x = np.array([np.nan, np.inf, -np.inf, 1.0], np.float32)
    r = quantize(x, QuantSpec(scheme="float", float_format="float8_e4m3fn"))
    np.testing.assert_array_equal(r.x_dq, [np.nan, 448.0, -448.0, 1.0])
    r16 = quantize(x, QuantSpec(scheme="float", float_format="float16"))
    np.testing.assert_array_equal(r16.x_dq, [np.nan, np.inf, -np.inf, 1.0])
    assert r16.mse == 0.0  # non-finite inputs are left out of the error statistics


@pytest.mark.parametrize("scheme", ["int", "fixed_point", "log", "kmeans", "float"])
def test_every_scheme_keeps_finite_values_finite(scheme):
    x = np.array([np.nan, np.inf, -np.inf, 0.0, 1.5, -0.25, 3.0, 1e-3], np.float32)
    r = quantize(x, QuantSpec(scheme=scheme, bits=8))  # scheme=float ignores bits: float_format (float16) sets it
    assert np.all(np.isfinite(r.x_dq[3:])) and np.isfinite(r.mse)


# ---- dequantize ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        INT8,
        QuantSpec(bits=4, granularity="group", axis=1, group_size=4),
        QuantSpec(scheme="float", float_format="bfloat16"),
    ],
    ids=["int8", "int4-group", "bf16"],
)
def test_dequantize_reproduces_x_dq(spec):
    x = np.random.default_rng(2).normal(size=(3, 8))
    r = quantize(x, spec)
    np.testing.assert_array_equal(dequantize(r), r.x_dq)
