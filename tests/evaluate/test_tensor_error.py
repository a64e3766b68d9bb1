"""error_summary (chunked float64 dot products) gives summary's numbers and its rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qviz.evaluate.tensor_error import CHUNK, error_summary
from qviz.quant.metrics import summary

KEYS = ("mse", "sqnr_db", "cosine_similarity")


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64], ids=str)
def test_equals_summary_over_several_chunks(dtype):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(3 * CHUNK + 17) * 40).astype(dtype)
    dq = (x + rng.standard_normal(x.size) * 0.1).astype(dtype)
    got, want = error_summary(x, dq), summary(x, dq)
    for k in KEYS:
        assert got[k] == pytest.approx(want[k], rel=1e-9)


@pytest.mark.parametrize(
    ("x", "dq"),
    [
        ([0.0, 0.0], [0.0, 0.0]),  # no error, no signal: +inf dB, cosine 1
        ([1.0, 2.0], [1.0, 2.0]),  # no error: +inf dB
        ([0.0, 0.0], [0.0, 1.0]),  # error without signal: -inf dB, cosine 0
        ([1.0, np.inf], [1.0, 2.0]),  # x not finite: left out (summary's rule)
        ([1.0, 2.0], [1.0, np.inf]),  # an overflow: infinite error
    ],
    ids=["zeros", "exact", "no-signal", "x-inf", "dq-inf"],
)
def test_edge_rules_are_summarys(x, dq):
    x, dq = np.float32(x), np.float32(dq)
    got, want = error_summary(x, dq), summary(x, dq)
    for k in KEYS:
        assert got[k] == want[k] or (math.isnan(got[k]) and math.isnan(want[k]))


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="same shape"):
        error_summary(np.zeros(3, np.float32), np.zeros(4, np.float32))
