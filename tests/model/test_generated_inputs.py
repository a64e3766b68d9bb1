"""generated_inputs: the one generator of model inputs (evaluation, calibration, upload smoke run)."""

import numpy as np
import pytest
from onnx import TensorProto, helper

from qviz.evaluate import generated
from qviz.model import ModelError, TensorInfo, load_model
from qviz.model.load.generated_inputs import DIM_DEFAULT, generated_inputs
from qviz.model.simulate.calibrate import generated_feeds
from qviz_dev import model_factory as mf


@pytest.mark.parametrize(
    "shape, kwargs, expected",
    [
        (("N", 4), {}, (10, 4)),
        ((4, 3), {}, (8, 3)),  # fixed batch 4: whole batches of it
        ((4, 3), {"one_batch": True}, (4, 3)),
        ((3, 3), {"rows": 2}, (3, 3)),  # at least one batch
        (("N", "seq", 2), {}, (10, DIM_DEFAULT, 2)),
        (("N", "seq", 2), {"dims": {"seq": 5}}, (10, 5, 2)),
        (("N", "?"), {"dim_default": 1}, (10, 1)),
        (None, {}, ()),
    ],
    ids=[
        "dynamic-batch",
        "fixed-batch",
        "one-batch",
        "fixed-over-rows",
        "dynamic-other",
        "named-dim",
        "unknown-dim",
        "no-shape",
    ],
)
def test_shapes_follow_the_documented_rules(shape, kwargs, expected):
    kwargs = {"rows": 10, **kwargs}
    assert generated_inputs([("x", "float32", shape)], **kwargs)["x"].shape == expected


def test_input_kinds_dtypes_and_seed():
    infos = [
        TensorInfo("x", "float16", ("N", 2)),
        ("ids", "int64", ["N"]),
        {"name": "m", "dtype": "bool", "shape": [3]},
    ]
    a, b = generated_inputs(infos, rows=50, seed=3), generated_inputs(infos, rows=50, seed=3)
    assert [v.dtype.name for v in a.values()] == ["float16", "int64", "bool"]
    assert set(np.unique(a["ids"])) <= set(range(100))  # TOKEN_HIGH without a Gather to size it
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["x"], generated_inputs(infos, rows=50, seed=4)["x"])


def test_unknown_element_type_is_a_model_error():
    with pytest.raises(ModelError, match="'x' has no element type"):
        generated_inputs([("x", "?", ["N"])], rows=1)


def test_evaluation_and_calibration_use_it():
    model = mf.make_model(
        [helper.make_node("Gather", ["E", "ids"], ["y"])],
        [mf.vinfo("ids", ["N", "seq"], TensorProto.INT64)],
        [mf.vinfo("y", ["N", "seq", 3])],
        [mf.init("E", mf.rand((4, 3)))],
    )
    loaded = load_model(mf.to_bytes(model))
    high = {"ids": 4}  # E has 4 rows (qviz.model.load.model_inputs.index_limits)
    np.testing.assert_array_equal(
        generated(loaded, n=6, seed=2).feeds[0]["ids"],
        generated_inputs(loaded.inputs, rows=6, seed=2, high=high)["ids"],
    )
    rng = np.random.default_rng(5)
    expected = [generated_inputs(loaded.inputs, rows=1, seed=rng, dim_default=1, high=high) for _ in range(3)]
    got = generated_feeds(loaded.model, n=3, seed=5)
    assert [f["ids"].shape for f in got] == [(1, 1)] * 3
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_array_equal(e["ids"], g["ids"])
