"""qviz.lessons: the numbers behind the Learn page, checked against the engine and theory."""

import numpy as np
import pytest

from qviz.lessons import (
    DEFAULTS,
    DISTRIBUTIONS,
    EXAMPLES_BY_KEY,
    WORKED_EXAMPLES,
    make_distribution,
    make_tensor,
    parse_values,
    spec_from_settings,
)
from qviz.lessons.curves import DB_PER_BIT, clip_round_curve, grid_levels, histogram, six_db_rule, sqnr_vs_bits
from qviz.lessons.explain import explain_value, formula_latex
from qviz.lessons.lesson import run_lesson
from qviz.quant import QuantSpec, SpecError
from qviz.quant.api import quantize

# --- distributions and typed values ----------------------------------------------------------


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_distribution_is_seeded_float32(name):
    x = make_distribution(name, 500, seed=3)
    assert x.dtype == np.float32 and x.shape == (500,) and np.all(np.isfinite(x))
    assert np.array_equal(x, make_distribution(name, 500, seed=3))
    assert not np.array_equal(x, make_distribution(name, 500, seed=4))


def test_distribution_shapes():
    assert make_distribution("relu", 1000, 0).min() == 0.0
    assert np.abs(make_distribution("outliers", 1000, 0)).max() >= 12.0
    assert abs(np.abs(make_distribution("uniform", 1000, 0)).max() - 1.0) < 0.01


@pytest.mark.parametrize(
    "args, word", [(("cauchy", 10, 0), "distribution"), (("normal", 0, 0), "n")], ids=["unknown-name", "zero-size"]
)
def test_distribution_errors_name_the_parameter(args, word):
    with pytest.raises(SpecError, match=word):
        make_distribution(*args)


def test_tensor_rows_widen_by_the_spread():
    x = make_tensor("uniform", 4096, 0, channels=8, channel_spread=20.0)
    assert x.shape == (8, 512)
    widths = np.abs(x).max(axis=1)
    assert 15 < widths[-1] / widths[0] < 25


@pytest.mark.parametrize(
    "text, expected",
    [("-1, 0.5, 1", [-1, 0.5, 1]), ("1;2\n3  4", [1, 2, 3, 4]), ("2e-3", [0.002])],
    ids=["commas", "mixed-separators", "exponent"],
)
def test_parse_values(text, expected):
    assert np.allclose(parse_values(text), [expected])


@pytest.mark.parametrize(
    "text, fragment",
    [("1, abc, 2", "'abc'"), ("", "at least one"), (" , ", "at least one"), ("1, nan", "NaN"), ("1e400", "NaN")],
    ids=["word", "empty", "only-commas", "nan", "overflow"],
)
def test_parse_errors_are_short_messages(text, fragment):
    with pytest.raises(SpecError, match="values") as info:
        parse_values(text)
    assert fragment in str(info.value)


def test_settings_to_spec():
    spec = spec_from_settings({**DEFAULTS, "granularity": "group", "sigmas": 0.0})
    assert spec.axis == 1 and spec.sigmas is None and spec.range_min is None
    with pytest.raises(SpecError, match="restricted_range"):
        spec_from_settings({**DEFAULTS, "restricted_range": True, "symmetric": False})


# --- curves -------------------------------------------------------------------------------------


def test_sqnr_follows_six_db_per_bit_on_uniform_data():
    x = make_distribution("uniform", 8192, 0)
    bits, sqnr = sqnr_vs_bits(x, QuantSpec(symmetric=False, signed=False), bits=range(4, 13))
    slope = np.polyfit(bits, sqnr, 1)[0]
    assert abs(slope - DB_PER_BIT) < 0.2
    assert np.all(np.abs(sqnr - six_db_rule(x, bits, symmetric=False)) < 1.0)


def test_sqnr_vs_bits_respects_the_scheme_range():
    x = make_distribution("normal", 256, 0)
    assert sqnr_vs_bits(x, QuantSpec(scheme="log", bits=4))[0].tolist() == list(range(2, 9))
    assert sqnr_vs_bits(x, QuantSpec(scheme="float", float_format="float16"))[0].size == 0


@pytest.mark.parametrize("symmetric", [True, False], ids=["symmetric", "asymmetric"])
def test_clip_round_curve_trades_one_error_for_the_other(symmetric):
    x = make_distribution("laplace", 4096, 0)
    spec = QuantSpec(bits=4, symmetric=symmetric, signed=symmetric)
    thresholds, clip, rnd = clip_round_curve(x, spec, n_points=20)
    assert np.all(np.diff(thresholds) > 0) and thresholds[-1] == pytest.approx(np.abs(x).max())
    assert clip[0] > 10 * clip[-2] and rnd[-1] > 10 * rnd[0]
    # the last point is the full min-max range: the same quantization as estimator=minmax
    assert clip[-1] + rnd[-1] == pytest.approx(quantize(x, spec).mse, rel=1e-6)


def test_histogram_is_binned_on_the_server():
    counts, edges = histogram(make_distribution("normal", 10_000, 0), bins=50)
    assert counts.sum() == 10_000 and len(edges) == 51


@pytest.mark.parametrize("bits, drawn", [(3, 8), (8, 256), (12, 0)], ids=["3-bit", "8-bit", "12-bit-too-dense"])
def test_grid_levels(bits, drawn):
    x = make_distribution("uniform", 4096, 0)
    result = quantize(x, QuantSpec(bits=bits, symmetric=False, signed=False))
    levels, in_view = grid_levels(x, result)
    assert len(levels) == drawn and in_view >= drawn
    if drawn:  # every value lands on a drawn level
        assert np.isin(np.unique(result.x_dq), levels.astype(np.float32)).all()


# --- one value, step by step --------------------------------------------------------------------

INT_SPECS = {
    "int8-symmetric": QuantSpec(),
    "uint8-asymmetric": QuantSpec(signed=False, symmetric=False),
    "int4-restricted": QuantSpec(bits=4, restricted_range=True),
    "uint4-symmetric": QuantSpec(bits=4, signed=False),
    "int3-floor-pow2": QuantSpec(bits=3, rounding="floor", pow2_scale=True, symmetric=False),
    "int6-trunc-percentile": QuantSpec(bits=6, rounding="trunc", estimator="percentile", percentile=95.0),
    "int4-per-channel": QuantSpec(bits=4, granularity="channel", symmetric=False),
    "int4-per-group": QuantSpec(bits=4, granularity="group", axis=1, group_size=16),
}


@pytest.mark.parametrize("spec", INT_SPECS.values(), ids=INT_SPECS.keys())
def test_explained_code_equals_the_engine_code(spec):
    x = make_tensor("outliers", 512, 1, channels=4, channel_spread=3.0)
    result = quantize(x, spec)
    n_first = 16 if spec.granularity == "group" else x.shape[1]  # values of the first group
    for i in range(0, n_first, 3):
        d = explain_value(float(x[0, i]), x, spec)
        assert d["q"] == result.q[0, i] and d["x_hat"] == pytest.approx(float(result.x_dq[0, i]), abs=1e-7)
        assert d["error"] == pytest.approx(float(x[0, i]) - d["x_hat"])


def test_explained_fixed_point_equals_the_engine():
    x = make_tensor("normal", 256, 0, channels=1)
    spec = QuantSpec(scheme="fixed_point", bits=6, frac_bits=3)
    result = quantize(x, spec)
    for i in range(0, 256, 7):
        d = explain_value(float(x[0, i]), x, spec)
        assert d["q"] == result.q[0, i] and d["x_hat"] == pytest.approx(float(result.x_dq[0, i]))


@pytest.mark.parametrize(
    "spec",
    [QuantSpec(scheme="log", bits=4), QuantSpec(scheme="float", float_format="float8_e4m3fn")],
    ids=["log", "float8"],
)
def test_explained_level_schemes_land_on_a_level(spec):
    x = make_tensor("normal", 256, 0, channels=1)
    d = explain_value(0.3, x, spec)
    assert d["kind"] == "level" and abs(d["error"]) < 0.3 and formula_latex(d, spec)


def test_classic_example_code_191():
    lesson = run_lesson({**DEFAULTS, **EXAMPLES_BY_KEY["code191"].settings})
    assert (lesson.scale, lesson.zero_point) == (pytest.approx(2 / 255), 127)
    assert lesson.table["q"][1] == 191
    d = explain_value(0.5, lesson.x, lesson.spec)
    assert (d["zero_point"], d["rounded"], d["q"]) == (127, 64, 191)
    assert d["zp_raw"] < 127.5  # float32 scale puts 1/scale just below the tie
    assert any(r"&= 191\end{aligned}" in line for line in formula_latex(d, lesson.spec))


# --- worked examples: the comparison shows what the text promises --------------------------------


def compare(key):
    example = EXAMPLES_BY_KEY[key]
    return (
        run_lesson({**DEFAULTS, **example.settings}),
        run_lesson({**DEFAULTS, **example.settings, **example.compare}),
    )


def test_example_truncation_quadruples_rounding_error():
    rounded, truncated = compare("truncation")
    assert 3.0 < truncated.result.round_mse / rounded.result.round_mse < 5.0


def test_example_relu_asymmetric_wins_about_a_bit():
    symmetric, asymmetric = compare("relu")
    assert 5.0 < asymmetric.sqnr_db - symmetric.sqnr_db < 7.0


@pytest.mark.parametrize("key", ["outliers", "per_channel"])
def test_example_comparison_improves_sqnr(key):
    before, after = compare(key)
    assert after.sqnr_db > before.sqnr_db + 3.0


def test_every_example_runs():
    for example in WORKED_EXAMPLES:
        assert set(example.settings) | set(example.compare) <= set(DEFAULTS)
        assert np.isfinite(run_lesson({**DEFAULTS, **example.settings}).sqnr_db)


def test_fixed_point_sqnr_curve_keeps_the_integer_bits():
    x = make_distribution("uniform", 4096, 0)
    bits, sqnr = sqnr_vs_bits(x, QuantSpec(scheme="fixed_point", bits=6, frac_bits=4))
    assert bits[0] == 2 and np.all(np.diff(sqnr) > 5.0)
