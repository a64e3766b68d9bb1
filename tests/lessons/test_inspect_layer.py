"""qviz.lessons.inspect_layer: the Layer page's numbers, checked against the engine; figure sizes on big tensors."""

import math

import numpy as np
import pytest

from qviz.lessons.inspect_layer import (
    MAX_MAP_SIDE,
    code_counts,
    downsample_extreme,
    error_image,
    group_view,
    inspect_activation,
    inspect_group,
    inspect_weights,
    kernel_grid,
)
from qviz.plots import channel_range_figure, error_map_figure, histogram_figure
from qviz.quant import QuantSpec, SpecError, quantize
from qviz.quant.granularity import to_groups
from qviz.quant.metrics import sqnr_db

LABELS = dict.fromkeys(["title", "x", "y", "range", "outlier", "clip", "colorbar", "values", "levels"], "t")
RNG = np.random.default_rng(0)


def test_kernel_grid_places_each_kernel_with_gaps():
    w = np.arange(2 * 3 * 3 * 3, dtype=np.float64).reshape(2, 3, 3, 3)
    image = kernel_grid(w)
    assert np.isnan(image).any()
    kernels = [image[r : r + 3, c : c + 3] for r in range(0, image.shape[0], 4) for c in range(0, image.shape[1], 4)]
    found = [k for k in kernels if not np.isnan(k).any()]
    assert len(found) == 6 and np.array_equal(found[4], w.reshape(6, 3, 3)[4])


def test_downsample_keeps_the_extreme_with_its_sign():
    image = RNG.normal(size=(1000, 700)) * 0.01
    image[123, 456] = -5.0
    small = downsample_extreme(image, side=100)
    assert max(small.shape) <= 100
    assert np.nanmin(small) == -5.0 and np.nanmax(np.abs(small)) == 5.0


@pytest.mark.parametrize(
    "shape, kind",
    [((8, 4, 3, 3), "kernels"), ((16, 8, 1, 1), "matrix"), ((10, 20), "matrix"), ((5,), "matrix")],
    ids=["conv3x3", "conv1x1", "gemm", "vector"],
)
def test_error_image_kinds(shape, kind):
    x = RNG.normal(size=shape).astype(np.float32)
    image, got, factor = error_image(x, x + 0.5)
    assert got == kind and factor == 1
    assert np.allclose(image[np.isfinite(image)], -0.5)


@pytest.mark.parametrize(
    "spec",
    [
        QuantSpec(bits=4, granularity="channel", axis=0),
        QuantSpec(bits=3, estimator="percentile", percentile=99.0),
        QuantSpec(bits=8, symmetric=False, signed=False, estimator="mse"),
        QuantSpec(bits=4, granularity="group", axis=1, group_size=16),
    ],
    ids=["int4-channel", "int3-percentile", "uint8-mse", "int4-group16"],
)
def test_numbers_equal_quantize(spec):
    w = RNG.standard_t(df=3, size=(24, 32)).astype(np.float32)
    view = inspect_weights(w, spec, channel_axis=0)
    result = quantize(w, spec)
    assert view.clipped_fraction == result.clipped_fraction
    assert view.sqnr_db == pytest.approx(sqnr_db(w, result.x_dq))
    assert view.clip_mse + view.round_mse == pytest.approx(result.mse)
    assert view.codes["count"].sum() == w.size
    assert view.codes["available"] == spec.qmax - spec.qmin + 1
    i = view.estimators["estimator"].index(spec.estimator)
    assert view.estimators["sqnr_db"][i] == pytest.approx(view.sqnr_db)


def test_outlier_channel_is_flagged():
    w = RNG.normal(size=(16, 8)).astype(np.float32)
    w[5] *= 20
    view = inspect_weights(w, QuantSpec(bits=8), channel_axis=0)
    assert np.flatnonzero(view.channels["outlier"]).tolist() == [5]
    assert view.channels["hi"][0] == view.channels["hi"][5]  # per-tensor: one range for all


def test_code_counts_binned_for_16_bits():
    x = RNG.normal(size=5000).astype(np.float32)
    codes = code_counts(quantize(x, QuantSpec(bits=16)))
    assert len(codes["count"]) <= 1024 and codes["count"].sum() == x.size and codes["available"] == 65536


def test_non_int_schemes_have_no_estimator_table_or_codes():
    w = RNG.normal(size=(8, 8)).astype(np.float32)
    view = inspect_weights(w, QuantSpec(scheme="float", float_format="float8_e4m3fn"))
    assert view.estimators is None and view.codes is None and view.params is None and view.split is None
    assert view.sqnr_db > 10


def test_activation_view_matches_quantize():
    a = np.maximum(RNG.normal(size=(50, 4, 6, 6)), 0).astype(np.float32)
    spec = QuantSpec(bits=8, signed=False, symmetric=False, estimator="percentile", percentile=99.0)
    view = inspect_activation(a, spec)
    assert view.clipped_fraction == quantize(a.reshape(-1), spec).clipped_fraction
    assert view.values == a.size and view.counts.sum() == a.size


def test_figures_of_a_big_tensor_stay_small():
    """A side longer than 6 x MAX_MAP_SIDE is downsampled by 7 x 7 blocks. Few rows: every
    estimator of compare_estimators runs per channel, and 1024 channels took ~30 s here."""
    w = RNG.normal(size=(32, 6 * MAX_MAP_SIDE + 64)).astype(np.float32)
    view = inspect_weights(w, QuantSpec(bits=4, granularity="channel", axis=0))
    assert view.map_factor == 7 and view.error_map.shape == (math.ceil(32 / 7), math.ceil(w.shape[1] / 7))
    assert max(view.error_map.shape) <= MAX_MAP_SIDE
    figures = [
        error_map_figure(view.error_map, LABELS),
        channel_range_figure(view.channels, LABELS),
        histogram_figure(view.counts, view.edges, view.levels, view.thresholds, LABELS),
    ]
    assert all(len(fig.to_json()) < 2 * 2**20 for fig in figures)


@pytest.mark.parametrize(
    "spec",
    [
        QuantSpec(bits=8, granularity="channel", axis=0),
        QuantSpec(bits=4, granularity="group", axis=1, group_size=8),
        QuantSpec(scheme="log", bits=4, granularity="channel", axis=0),
    ],
    ids=["int8-channel", "int4-group8", "log4-channel"],
)
def test_group_view_draws_that_groups_own_range(spec):
    w = RNG.normal(size=(6, 16)).astype(np.float32) * np.arange(1, 7, dtype=np.float32)[:, None]
    result = quantize(w, spec)
    view = inspect_weights(w, spec)
    rows = to_groups(w, spec.granularity, spec.axis, spec.group_size)
    assert view.groups == len(result.lo) and np.ptp(rows[view.widest]) == np.ptp(rows, axis=1).max()
    for g in (0, view.widest):
        group = group_view(w, result, g)
        assert group.thresholds == (result.lo[g], result.hi[g])
        assert group.counts.sum() == rows.shape[1]
        assert rows[g].min() == group.data_lo == group.edges[0] and group.edges[-1] == group.data_hi == rows[g].max()
        assert (
            len(group.levels)
            and group.levels.min() >= result.lo[g] - 1e-6
            and group.levels.max() <= result.hi[g] + 1e-6
        )
    assert group_view(w, result, 0).thresholds != group_view(w, result, view.widest).thresholds


def test_int_group_levels_are_that_groups_grid():
    w = RNG.normal(size=(4, 8)).astype(np.float32) * np.array([1, 10, 0.1, 3], dtype=np.float32)[:, None]
    spec = QuantSpec(bits=4, granularity="channel", axis=0)
    result = quantize(w, spec)
    group = inspect_group(w, spec, 1)
    assert np.allclose(np.diff(group.levels), result.scale[1])


@pytest.mark.parametrize("index", [-1, 4, 1.5], ids=["negative", "past-end", "float"])
def test_group_index_out_of_range_is_a_spec_error(index):
    w = RNG.normal(size=(4, 8)).astype(np.float32)
    with pytest.raises(SpecError, match=r"index must be in 0\.\.3"):
        inspect_group(w, QuantSpec(bits=8, granularity="channel", axis=0), index)
