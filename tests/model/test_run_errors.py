"""onnxruntime failures at run time (a valid model, data it cannot take) are ModelErrors."""

import numpy as np
import pytest
from onnx import TensorProto, helper

from qviz.config import PRESETS
from qviz.evaluate import evaluate, from_arrays
from qviz.model import ModelError, make_session
from qviz.model.runtime.session import run_session
from qviz.model.simulate.calibrate import collect_tensors
from qviz_dev import model_factory as mf


def gather_matmul() -> bytes:
    """Gather(E[4, 8], idx[N, 2]) -> MatMul(W[8, 3]): any index >= 4 fails inside onnxruntime."""
    nodes = [helper.make_node("Gather", ["E", "idx"], ["e"]), helper.make_node("MatMul", ["e", "W"], ["y"])]
    model = mf.make_model(
        nodes,
        [mf.vinfo("idx", ["N", 2], TensorProto.INT64)],
        [mf.vinfo("y", ["N", 2, 3])],
        [mf.init("E", mf.rand((4, 8), 1)), mf.init("W", mf.rand((8, 3), 2))],
    )
    return mf.to_bytes(model)


def bad_indices(rows: int = 70, bad_row: int = 66) -> np.ndarray:
    """Index 10 at `bad_row` (default: in the second batch of 64; the first one is fine)."""
    idx = np.zeros((rows, 2), np.int64)
    idx[bad_row, 1] = 10
    return idx


def test_evaluate_wraps_an_onnxruntime_run_error():
    model = gather_matmul()
    with pytest.raises(ModelError, match=r"cannot run the model on these inputs: .*"):
        evaluate(model, PRESETS["w8a8"], from_arrays(model, bad_indices()))


def test_calibration_wraps_an_onnxruntime_run_error():
    proto = mf.onnx.load_model_from_string(gather_matmul())
    with pytest.raises(ModelError, match="cannot run"):
        collect_tensors(proto, ["e"], [{"idx": bad_indices(3, 2)}])


def test_run_session_message_is_one_short_line():
    sess = make_session(gather_matmul())
    with pytest.raises(ModelError) as info:
        run_session(sess, None, {"idx": bad_indices(3, 2)})
    assert "\n" not in str(info.value) and len(str(info.value)) < 400
    ok = run_session(sess, None, {"idx": np.zeros((3, 2), np.int64)})
    assert ok[0].shape == (3, 2, 3)
