"""Everything the Learn page shows for one settings dict, computed in one call (and cached by the UI).

    >>> from qviz.lessons.settings import DEFAULTS
    >>> lesson = run_lesson({**DEFAULTS, "bits": 4})        # 2048 N(0, 1) values, int4, min-max
    >>> round(lesson.sqnr_db, 1), lesson.result.clipped_fraction, round(lesson.scale, 4)
    (16.3, 0.0, 0.5199)
    >>> lesson.table["x"][2], lesson.table["q"][2]          # 0.640 / 0.5199 = 1.23 -> code 1
    (0.6404226422309875, 1)

Levels and clipping thresholds drawn on the histogram are the first group's (row 0 of the
granularity's [G, N] view): with per-channel or per-group scales each group has its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qviz.lessons.curves import clip_round_curve, grid_levels, histogram, six_db_rule, sqnr_vs_bits
from qviz.lessons.settings import spec_from_settings, tensor_from_settings
from qviz.quant import QuantResult, QuantSpec
from qviz.quant.api import quantize
from qviz.quant.granularity import params_to_rows
from qviz.quant.metrics import sqnr_db

TABLE_ROWS = 12
# Clipping thresholds farther out than this many times max|x| are not drawn (float16's +-65504).
THRESHOLD_VIEW = 4.0


@dataclass(frozen=True, eq=False)
class Lesson:
    spec: QuantSpec
    x: np.ndarray  # the 2-D toy tensor
    result: QuantResult
    sqnr_db: float
    counts: np.ndarray  # histogram of x
    edges: np.ndarray
    levels: np.ndarray  # quantization levels to draw (may be empty: too dense)
    levels_in_view: int
    thresholds: tuple | None  # (lo, hi) of the first group, None when not drawable
    scale: float | None  # first group's scale / zero point (int scheme)
    zero_point: int | None
    bits: np.ndarray  # SQNR vs bits, and the 6.02 dB/bit rule
    sqnr_by_bits: np.ndarray
    rule_db: np.ndarray
    clip_thresholds: np.ndarray  # clipping-vs-rounding sweep (int scheme only; else empty)
    clip_mse: np.ndarray
    round_mse: np.ndarray
    chosen_threshold: float | None  # where the range estimator put the threshold
    table: dict  # first values: x, q, x_dq, error


def run_lesson(settings: dict) -> Lesson:
    """Quantize the settings' toy tensor and compute every figure's data; SpecError if impossible."""
    spec = spec_from_settings(settings)
    x = tensor_from_settings(settings)
    result = quantize(x, spec)
    counts, edges = histogram(x)
    levels, in_view = grid_levels(x, result)
    bits, by_bits = sqnr_vs_bits(x, spec)
    sweep = clip_round_curve(x, spec) if spec.scheme == "int" else (np.zeros(0),) * 3
    scale, zero_point = _first_params(result)
    return Lesson(
        spec=spec,
        x=x,
        result=result,
        sqnr_db=float(sqnr_db(x, result.x_dq)),
        counts=counts,
        edges=edges,
        levels=levels,
        levels_in_view=in_view,
        thresholds=_thresholds(x, result),
        scale=scale,
        zero_point=zero_point,
        bits=bits,
        sqnr_by_bits=by_bits,
        rule_db=six_db_rule(x, bits, spec.symmetric),
        clip_thresholds=sweep[0],
        clip_mse=sweep[1],
        round_mse=sweep[2],
        chosen_threshold=_chosen_threshold(result) if spec.scheme == "int" else None,
        table=code_table(x, result),
    )


def code_table(x: np.ndarray, result: QuantResult, rows: int = TABLE_ROWS) -> dict:
    """The first `rows` values in memory order: x, integer code (None without codes), x_dq, error."""
    flat_x = np.asarray(x, dtype=np.float64).reshape(-1)[:rows]
    flat_dq = np.asarray(result.x_dq, dtype=np.float64).reshape(-1)[:rows]
    codes = [None] * len(flat_x) if result.q is None else [int(v) for v in np.asarray(result.q).reshape(-1)[:rows]]
    return {"x": flat_x.tolist(), "q": codes, "x_dq": flat_dq.tolist(), "error": (flat_x - flat_dq).tolist()}


def _first_params(result: QuantResult) -> tuple[float | None, int | None]:
    spec = result.spec
    if spec.scheme != "int" or result.scale is None:
        return None, None
    scale = float(params_to_rows(result.scale, spec.granularity, spec.axis)[0])
    zero_point = (
        None if result.zero_point is None else int(params_to_rows(result.zero_point, spec.granularity, spec.axis)[0])
    )
    return scale, zero_point


def _thresholds(x: np.ndarray, result: QuantResult) -> tuple | None:
    if result.spec.scheme == "kmeans":  # a codebook clips nothing: no thresholds to draw
        return None
    lo, hi = float(result.lo[0]), float(result.hi[0])
    reach = THRESHOLD_VIEW * max(float(np.abs(x).max()), 1e-30)
    return (lo, hi) if max(abs(lo), abs(hi)) <= reach else None


def _chosen_threshold(result: QuantResult) -> float:
    """The estimator's clipping threshold on the sweep's axis: max(|lo|, |hi|) over groups."""
    return float(max(np.abs(result.lo).max(), np.abs(result.hi).max()))
