"""qviz.lessons.integer_only against onnxruntime: QLinearMatMul (no bias) and QLinearConv 1x1 (with bias), bit for bit."""

import numpy as np
import onnx
import pytest

from qviz.lessons.integer_only import integer_gemm, quantize_multiplier, requantize_fixed
from qviz.model import WeightStore
from qviz.model.runtime.qlinear import qlinear_conv_1x1, qlinear_matmul
from qviz.quant import SpecError
from qviz.samples import load_sample


def random_layer(seed: int, batch=16, k=96, out=24):
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(batch, k)) * 3).astype(np.float32)
    w = (rng.normal(size=(out, k)) * rng.uniform(0.1, 2, size=(out, 1))).astype(np.float32)
    return x, w, rng.normal(size=out).astype(np.float32)


@pytest.mark.parametrize("per_channel", [False, True], ids=["per_tensor", "per_channel"])
@pytest.mark.parametrize("shrink", [1.0, 4.0], ids=["calibrated_y", "saturating_y"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_layer_is_bit_exact_with_onnxruntime(seed, shrink, per_channel):
    x, w, b = random_layer(seed)
    y = x @ w.T
    y_range = (y.min() / shrink, y.max() / shrink)
    bare = integer_gemm(x, w, None, (x.min(), x.max()), y_range, per_channel)
    with_bias = integer_gemm(x, w, b, (x.min(), x.max()), y_range, per_channel)
    assert (bare.acc < 0).any() and (bare.acc > 0).any()
    np.testing.assert_array_equal(qlinear_matmul(bare), bare.y_q)
    np.testing.assert_array_equal(qlinear_conv_1x1(with_bias), with_bias.y_q)
    if shrink > 1:
        assert (bare.y_q == 0).sum() > 10 and (bare.y_q == 255).sum() > 10


@pytest.fixture(scope="module")
def mlp_gemm():
    sample = load_sample("digits_mlp")
    store = WeightStore(onnx.load_model_from_string(sample.model_bytes).graph)
    return sample.calibration.x, store["net.0.weight"], store["net.0.bias"]


@pytest.mark.parametrize("per_channel", [False, True], ids=["per_tensor", "per_channel"])
def test_real_layer_is_bit_exact_with_onnxruntime(mlp_gemm, per_channel):
    calib, w, b = mlp_gemm
    y = calib @ w.T + b
    r = integer_gemm(calib[:32], w, b, (calib.min(), calib.max()), (y.min(), y.max()), per_channel)
    np.testing.assert_array_equal(qlinear_conv_1x1(r), r.y_q)
    bare = integer_gemm(calib[:32], w, None, (calib.min(), calib.max()), (y.min(), y.max()), per_channel)
    np.testing.assert_array_equal(qlinear_matmul(bare), bare.y_q)
    # the integer pipeline approximates the float layer to within a couple of output steps
    assert np.abs(r.y_dq - r.y_float).max() < 3 * r.sy


def test_fixed_point_requantization_is_within_one_code_of_onnxruntime():
    x, w, b = random_layer(3, batch=64)
    y = x @ w.T + b
    r = integer_gemm(x, w, b, (x.min(), x.max()), (y.min(), y.max()))
    assert np.abs(r.y_q.astype(int) - r.y_q_fixed).max() <= 1
    assert r.fixed_diff < r.y_q.size // 20


def test_multiplier_decomposition_reproduces_m():
    m = np.exp(np.random.default_rng(0).uniform(np.log(1e-6), np.log(8.0), size=2000))
    m0, n = quantize_multiplier(m)
    assert m0.dtype == np.int32 and ((m0 >= 2**30) & (m0.astype(np.int64) < 2**31)).all()
    back = m0.astype(np.float64) * 2.0**-31 * 2.0 ** (-n.astype(np.float64))
    assert (np.abs(back - m) / m <= 2.0**-31).all()


def round_half_away(num: int, den: int) -> int:
    """num / den rounded half away from zero, in exact Python integers."""
    q = (2 * abs(num) + den) // (2 * den)
    return q if num >= 0 else -q


def test_fixed_point_requantize_is_gemmlowp_two_step_rounding():
    """round(round(acc * M0 / 2**31) / 2**n), each half away from zero (gemmlowp rounds twice, on purpose)."""
    acc = np.arange(-3000, 3001, dtype=np.int32)
    m0, n = quantize_multiplier(np.float64(0.0123))
    expected = [round_half_away(round_half_away(int(a) * int(m0[0]), 2**31), 2 ** int(n[0])) for a in acc]
    np.testing.assert_array_equal(requantize_fixed(acc, m0, n, 128), np.clip(np.array(expected) + 128, 0, 255))


@pytest.mark.parametrize("m", [0.0, -1.0, np.inf], ids=["zero", "negative", "inf"])
def test_bad_multiplier_is_a_spec_error(m):
    with pytest.raises(SpecError, match="multiplier"):
        quantize_multiplier(m)


def test_full_range_weights_keep_the_exact_integer_math():
    """reduce_range=False: codes span [-128, 127] and acc is the exact int64 sum (not the int16-pair kernel's)."""
    x, w, _ = random_layer(4)
    r = integer_gemm(x, w, None, (x.min(), x.max()), (-10, 10), reduce_range=False)
    assert r.w_q.min() <= -127 or r.w_q.max() == 127
    exact = (r.x_q.astype(np.int64) - r.zx) @ r.w_q.astype(np.int64).T
    np.testing.assert_array_equal(r.acc, exact)
