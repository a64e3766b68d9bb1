"""Everything the Layer page shows about one weight tensor under one spec (numpy only).

    >>> w = np.random.default_rng(0).normal(size=(16, 8, 3, 3)).astype(np.float32)   # a Conv weight
    >>> view = inspect_weights(w, QuantSpec(bits=4), channel_axis=0)
    >>> view.clipped_fraction, round(view.sqnr_db, 1), view.map_kind, view.error_map.shape
    (0.0, 16.1, 'kernels', (43, 47))
    >>> dict(zip(view.estimators["estimator"], np.round(view.estimators["sqnr_db"], 1).tolist()))
    {'minmax': 16.1, 'percentile': 16.1, 'sigma': 18.7, 'mse': 18.8, 'entropy': 17.7}

(At 4 bits, clipping a little — sigma, mse — beats keeping every value: min-max.)

Rules:
- the histogram, levels and clipping thresholds follow the Learn page (qviz.lessons.curves).
  Per-tensor: the whole tensor. Per-channel/group: ONE channel's (group's) values with ITS
  levels and thresholds (inspect_group; `widest` is the group of largest data range), since
  all weights drawn against one group's thresholds would suggest clipping that does not happen.
  The numbers (clipped %, SQNR, MSE) are always of the whole tensor;
- the error map is x - x_dq laid out as an image: a Conv weight [M, C, kh, kw] with kh*kw > 1
  as a grid of kh x kw kernels (NaN gaps between them), anything else as a matrix
  [shape[0], rest]. Images larger than MAX_MAP_SIDE on a side are downsampled by blocks; a
  block shows its value of largest |error| (sign kept), so a single bad weight stays visible;
- outlier channels: abs-max above OUTLIER_FACTOR x the median channel abs-max;
- the estimator comparison re-quantizes the tensor with each estimator, everything else equal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from qviz.lessons.curves import clip_round_curve, grid_levels, histogram
from qviz.quant import QuantSpec, SpecError, quantize
from qviz.quant.granularity import params_to_rows, to_groups
from qviz.quant.metrics import sqnr_db

MAX_MAP_SIDE = 256
OUTLIER_FACTOR = 3.0
COMPARED_ESTIMATORS = ("minmax", "percentile", "sigma", "mse", "entropy")
RANGE_SCHEMES = ("int", "log")
MAX_PARAM_ROWS = 64
MAX_CODE_BINS = 1024
MAX_CHANNELS_DRAWN = 4096
MAX_ACT_VALUES = 2_000_000


@dataclass(frozen=True, eq=False)
class WeightView:
    """The Layer page's numbers and figure data for one tensor and spec."""

    spec: QuantSpec
    shape: tuple
    clipped_fraction: float
    mse: float
    clip_mse: float
    round_mse: float
    sqnr_db: float
    counts: np.ndarray
    edges: np.ndarray
    levels: np.ndarray
    levels_in_view: int
    thresholds: tuple | None
    channels: dict  # index, min, max, absmax, lo, hi, outlier (per output channel)
    error_map: np.ndarray  # 2-D image of x - x_dq (downsampled), NaN gaps
    map_kind: str  # "kernels" | "matrix"
    map_factor: int  # block size of the downsampling (1 = every weight)
    split: tuple | None  # (thresholds, clip_mse, round_mse, chosen) or None
    estimators: dict | None  # columns: estimator, lo, hi, mse, sqnr_db, clipped
    params: dict | None  # group, scale, zero_point (first MAX_PARAM_ROWS groups)
    codes: dict | None  # code, count (binned above MAX_CODE_BINS), used, available
    groups: int = 1  # rows of to_groups: channels or groups (1 per-tensor)
    widest: int = 0  # the group of largest data range (max - min): the histogram's default


def inspect_weights(w: np.ndarray, spec: QuantSpec, channel_axis: int = 0) -> WeightView:
    """Quantize w with spec and compute every view of the Layer page (module doc)."""
    x = np.asarray(w, dtype=np.float32)
    result = quantize(x, spec)
    counts, edges = histogram(x)
    levels, in_view = drawn_levels(x, result)
    image, kind, factor = error_image(x, result.x_dq)
    return WeightView(
        spec=spec,
        shape=tuple(x.shape),
        clipped_fraction=result.clipped_fraction,
        mse=result.mse,
        clip_mse=result.clip_mse,
        round_mse=result.round_mse,
        sqnr_db=float(sqnr_db(x, result.x_dq)),
        counts=counts,
        edges=edges,
        levels=levels,
        levels_in_view=in_view,
        thresholds=first_thresholds(x, result),
        channels=channel_ranges(x, result, channel_axis),
        error_map=image,
        map_kind=kind,
        map_factor=factor,
        split=error_split_curve(x, spec, result),
        estimators=compare_estimators(x, spec),
        params=param_table(result),
        codes=code_counts(result),
        groups=len(result.lo),
        widest=widest_group(x, spec),
    )


@dataclass(frozen=True, eq=False)
class GroupView:
    """One channel's (or group's) histogram with its own levels and clipping thresholds."""

    index: int
    count: int  # how many channels/groups the spec has
    data_lo: float  # min and max of this group's finite values
    data_hi: float
    counts: np.ndarray
    edges: np.ndarray
    levels: np.ndarray
    levels_in_view: int
    thresholds: tuple | None  # (result.lo[index], result.hi[index]), None when far outside the data


def _rows(x: np.ndarray, spec: QuantSpec) -> np.ndarray:
    """x as [G, N], one row per scale entry (granularity.to_groups)."""
    return to_groups(x, spec.granularity, spec.axis, spec.group_size)


def widest_group(x: np.ndarray, spec: QuantSpec) -> int:
    """Index of the group whose finite values span the largest range (0 per-tensor or without data)."""
    if spec.granularity == "tensor" or x.size == 0:
        return 0
    rows = np.asarray(_rows(x, spec), dtype=np.float64)
    finite = np.isfinite(rows)
    span = np.max(rows, axis=1, where=finite, initial=-np.inf) - np.min(rows, axis=1, where=finite, initial=np.inf)
    return int(np.argmax(np.where(np.isfinite(span), span, -1.0)))


def inspect_group(w: np.ndarray, spec: QuantSpec, index: int) -> GroupView:
    """Quantize w with spec; the histogram of group `index` with its own grid (see group_view)."""
    x = np.asarray(w, dtype=np.float32)
    return group_view(x, quantize(x, spec), index)


def group_view(x: np.ndarray, result, index: int) -> GroupView:
    """Histogram, levels and (lo, hi) of row `index` of to_groups(x) under `result`.

    >>> x = np.array([[1., -1.], [3., 0.]], dtype=np.float32)
    >>> r = quantize(x, QuantSpec(bits=8, granularity="channel"))
    >>> group_view(x, r, 1).thresholds == (r.lo[1], r.hi[1])     # row 1's own clipping range
    True
    """
    count = len(result.lo)
    if not isinstance(index, (int, np.integer)) or not 0 <= index < count:
        raise SpecError(f"channel/group index must be in 0..{count - 1}; got {index!r}")
    values = _rows(x, result.spec)[index]
    row = row_result(result, int(index))
    levels, in_view = drawn_levels(values, row)
    counts, edges = histogram(values)
    finite = values[np.isfinite(values)]
    return GroupView(
        index=int(index),
        count=count,
        data_lo=float(finite.min(initial=0.0)),
        data_hi=float(finite.max(initial=0.0)),
        counts=counts,
        edges=edges,
        levels=levels,
        levels_in_view=in_view,
        thresholds=first_thresholds(values, row),
    )


def row_result(result, index: int):
    """The quantization of one group seen as a per-tensor QuantResult (its scale, zero point, codebook, range).

    # NOTE: grid_levels and first_thresholds read group 0 of a result; a one-group result lets
    # them draw any group unchanged.
    """
    spec = result.spec
    pick = lambda a: None if a is None else params_to_rows(a, spec.granularity, spec.axis)[index]  # noqa: E731
    codebook = (
        None if result.codebook is None else np.asarray(result.codebook).reshape(len(result.lo), -1)[index : index + 1]
    )
    return replace(
        result,
        spec=spec.replace(granularity="tensor"),
        x_dq=_rows(result.x_dq, spec)[index],
        q=None if result.q is None else _rows(result.q, spec)[index],
        scale=pick(result.scale),
        zero_point=pick(result.zero_point),
        codebook=codebook,
        lo=result.lo[index : index + 1],
        hi=result.hi[index : index + 1],
    )


def drawn_levels(x: np.ndarray, result) -> tuple[np.ndarray, int]:
    """grid_levels of the first group, or none when that group's range is not finite.

    # NOTE: weights near float32's limit get a grid that overflows (qmin x scale = -inf for
    # |x| ~ 3.4e38 at 8 bits): there is no level to draw or count, only the data.

    >>> x = np.array([-3.4e38, 3.4e38], dtype=np.float32)
    >>> with np.errstate(over="ignore"):
    ...     drawn_levels(x, quantize(x, QuantSpec(bits=8)))[1]
    0
    """
    if not (math.isfinite(float(result.lo[0])) and math.isfinite(float(result.hi[0]))):
        return np.zeros(0), 0
    return grid_levels(x, result)


def first_thresholds(x: np.ndarray, result) -> tuple | None:
    """(lo, hi) of the first group, or None when it is far outside the data (float16's 65504) or
    there is no clipping range (a k-means codebook: every value takes its nearest level)."""
    if result.spec.scheme == "kmeans":
        return None
    lo, hi = float(result.lo[0]), float(result.hi[0])
    reach = 4.0 * max(float(np.abs(x[np.isfinite(x)]).max(initial=0.0)), 1e-30)
    return (lo, hi) if max(abs(lo), abs(hi)) <= reach else None


def channel_ranges(x: np.ndarray, result, channel_axis: int) -> dict:
    """Per output channel: min, max, abs-max, the clipping range used there, outlier flag."""
    x2d = np.moveaxis(x, channel_axis, 0).reshape(x.shape[channel_axis], -1) if x.ndim else x.reshape(1, 1)
    finite = np.where(np.isfinite(x2d), x2d, np.nan)
    cmin, cmax = np.nanmin(finite, axis=1, initial=np.inf), np.nanmax(finite, axis=1, initial=-np.inf)
    absmax = np.maximum(np.abs(cmin), np.abs(cmax))
    lo, hi = _channel_clip_range(result, len(cmin))
    median = float(np.median(absmax)) if absmax.size else 0.0
    stride = max(1, math.ceil(len(cmin) / MAX_CHANNELS_DRAWN))
    keep = slice(None, None, stride)
    return {
        "index": np.arange(len(cmin))[keep],
        "min": cmin[keep],
        "max": cmax[keep],
        "absmax": absmax[keep],
        "lo": lo[keep],
        "hi": hi[keep],
        "outlier": (absmax > OUTLIER_FACTOR * median)[keep] if median > 0 else np.zeros(len(cmin), dtype=bool)[keep],
        "stride": stride,
        "count": len(cmin),
    }


def _channel_clip_range(result, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The clipping range per channel: per-channel specs have one; tensor/group specs show the overall one."""
    if result.spec.granularity == "channel" and len(result.lo) == n:
        return result.lo, result.hi
    return np.full(n, float(result.lo.min())), np.full(n, float(result.hi.max()))


def error_image(x: np.ndarray, x_dq: np.ndarray) -> tuple[np.ndarray, str, int]:
    """(image of x - x_dq, "kernels" | "matrix", downsampling factor); see the module doc."""
    err = np.asarray(x, dtype=np.float64) - np.asarray(x_dq, dtype=np.float64)
    err = np.where(np.isfinite(err), err, np.nan)
    if err.ndim == 4 and err.shape[2] * err.shape[3] > 1:
        image, kind = kernel_grid(err), "kernels"
    else:
        image, kind = err.reshape(err.shape[0] if err.ndim else 1, -1), "matrix"
    return downsample_extreme(image, MAX_MAP_SIDE), kind, _factor(image.shape, MAX_MAP_SIDE)


def kernel_grid(w: np.ndarray) -> np.ndarray:
    """[M, C, kh, kw] -> one image: the M*C kernels in a near-square grid, one NaN line between them.

    >>> kernel_grid(np.zeros((2, 1, 3, 3))).shape     # 2 kernels: 1 row of 2 -> (3, 7)
    (3, 7)
    """
    m, c, kh, kw = w.shape
    kernels = w.reshape(m * c, kh, kw)
    n = kernels.shape[0]
    cols = math.ceil(math.sqrt(n * kh / kw))
    rows = math.ceil(n / cols)
    image = np.full((rows * (kh + 1) - 1, cols * (kw + 1) - 1), np.nan)
    for i in range(n):
        r, col = divmod(i, cols)
        image[r * (kh + 1) : r * (kh + 1) + kh, col * (kw + 1) : col * (kw + 1) + kw] = kernels[i]
    return image


def _factor(shape: tuple, side: int) -> int:
    return max(1, math.ceil(max(shape) / side))


def downsample_extreme(image: np.ndarray, side: int = MAX_MAP_SIDE) -> np.ndarray:
    """Blocks of f x f (f = ceil(longest side / side)) -> the value of largest |v| in each block.

    >>> downsample_extreme(np.array([[1., -3.], [2., 0.]]), side=1)
    array([[-3.]])
    """
    f = _factor(image.shape, side)
    if f == 1:
        return image
    h, w = image.shape
    padded = np.full((math.ceil(h / f) * f, math.ceil(w / f) * f), np.nan)
    padded[:h, :w] = image
    blocks: np.ndarray = padded.reshape(padded.shape[0] // f, f, padded.shape[1] // f, f).transpose(0, 2, 1, 3)
    blocks = blocks.reshape(blocks.shape[0], blocks.shape[1], f * f)
    magnitude = np.where(np.isnan(blocks), -1.0, np.abs(blocks))
    pick = np.argmax(magnitude, axis=2)[..., None]
    return np.take_along_axis(blocks, pick, axis=2)[..., 0]


def error_split_curve(x: np.ndarray, spec: QuantSpec, result) -> tuple | None:
    """Clipping vs rounding MSE over a shrinking range (int only; subsampled above 1M values)."""
    if spec.scheme != "int" or x.size == 0:
        return None
    finite = x if np.isfinite(x).all() else x[np.isfinite(x)]  # NaN/Inf weights: the split of the finite ones
    if finite.size == 0:
        return None
    sample = finite if finite.size <= 1_000_000 else finite.reshape(-1)[:: math.ceil(finite.size / 1_000_000)]
    tensor_spec = spec if sample is x else spec.replace(granularity="tensor")
    thresholds, clip, rnd = clip_round_curve(sample, tensor_spec, n_points=30)
    chosen = float(max(np.abs(result.lo).max(), np.abs(result.hi).max()))
    return thresholds, clip, rnd, chosen


def compare_estimators(x: np.ndarray, spec: QuantSpec) -> dict | None:
    """Each range estimator on this tensor, the rest of the spec unchanged (int and log only).

    Columns: estimator, lo, hi (the widest group's range), mse, sqnr_db, clipped (fraction).
    """
    if spec.scheme not in RANGE_SCHEMES or x.size == 0:
        return None
    rows: dict[str, list[Any]] = {"estimator": [], "lo": [], "hi": [], "mse": [], "sqnr_db": [], "clipped": []}
    for name in COMPARED_ESTIMATORS:
        r = quantize(x, spec.replace(estimator=name))
        for key, value in (
            ("estimator", name),
            ("lo", float(r.lo.min())),
            ("hi", float(r.hi.max())),
            ("mse", r.mse),
            ("sqnr_db", float(sqnr_db(x, r.x_dq))),
            ("clipped", r.clipped_fraction),
        ):
            rows[key].append(value)
    return rows


def param_table(result) -> dict | None:
    """Scale and zero point of the first MAX_PARAM_ROWS groups (int scheme), else None."""
    spec = result.spec
    if spec.scheme != "int" or result.scale is None:
        return None
    scale = params_to_rows(result.scale, spec.granularity, spec.axis)
    zp = (
        params_to_rows(result.zero_point, spec.granularity, spec.axis)
        if result.zero_point is not None
        else np.zeros_like(scale, dtype=np.int64)
    )
    n = min(len(scale), MAX_PARAM_ROWS)
    return {
        "group": list(range(n)),
        "scale": scale[:n].astype(np.float64).tolist(),
        "zero_point": zp[:n].astype(np.int64).tolist(),
        "groups": len(scale),
    }


def code_counts(result) -> dict | None:
    """How often each integer code is used (int and fixed_point); codes binned above MAX_CODE_BINS."""
    spec = result.spec
    if spec.scheme not in ("int", "fixed_point") or result.q is None or result.q.size == 0:
        return None
    q = np.asarray(result.q, dtype=np.int64).reshape(-1)
    lo, hi = (spec.qmin, spec.qmax) if spec.scheme == "int" else (int(q.min()), int(q.max()))
    counts = np.bincount(np.clip(q, lo, hi) - lo, minlength=hi - lo + 1)
    codes = np.arange(lo, hi + 1)
    used = int((counts > 0).sum())
    if len(counts) > MAX_CODE_BINS:
        f = math.ceil(len(counts) / MAX_CODE_BINS)
        pad = (-len(counts)) % f
        counts = np.pad(counts, (0, pad)).reshape(-1, f).sum(axis=1)
        codes = codes[::f]
    return {"code": codes, "count": counts, "used": used, "available": hi - lo + 1}


@dataclass(frozen=True, eq=False)
class ActivationView:
    """Histogram of one activation tensor on the calibration data, with its spec's grid if any."""

    counts: np.ndarray
    edges: np.ndarray
    levels: np.ndarray
    thresholds: tuple | None
    clipped_fraction: float | None
    values: int


def inspect_activation(a: np.ndarray, spec: QuantSpec | None) -> ActivationView:
    """Histogram of `a` (the first MAX_ACT_VALUES values); levels and range from `spec` if given."""
    x = np.asarray(a, dtype=np.float32).reshape(-1)[:MAX_ACT_VALUES]
    counts, edges = histogram(x)
    if spec is None or x.size == 0:
        return ActivationView(counts, edges, np.zeros(0), None, None, int(x.size))
    flat_spec = spec.replace(granularity="tensor") if spec.granularity != "tensor" else spec
    result = quantize(x, flat_spec)
    levels, _ = drawn_levels(x, result)
    return ActivationView(counts, edges, levels, first_thresholds(x, result), result.clipped_fraction, int(x.size))
