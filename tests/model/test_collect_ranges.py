"""collect_ranges takes each tensor's min and max inside onnxruntime: the same numbers as fetching
the tensors, without fetching them (a yolov8n upload's ranges were 394 MiB per run before)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from qviz.model.simulate import calibrate
from qviz.samples import load_sample
from qviz_dev import model_factory as mf


def test_ranges_in_onnxruntime_equal_the_fetched_ones_on_a_sample():
    sample = load_sample("digits_transformer")
    model = onnx.load_model_from_string(sample.model_bytes)
    names = [o for n in model.graph.node for o in n.output][:60]
    feeds = calibrate.calibration_feeds(model, sample.calibration.x[:40])
    got = calibrate.collect_ranges(model, names, feeds)
    want = calibrate._fetched_ranges(model, names, feeds, calibrate.LOCAL)
    assert got.keys() == want.keys() and got
    for name in want:
        assert got[name][:2] == want[name][:2], name
        assert got[name][2] == want[name][2] and got[name][3] == want[name][3], name


def test_non_finite_values_are_left_out_and_float16_keeps_its_type():
    nodes = [
        helper.make_node("Log", ["x"], ["logx"]),  # -inf at 0, NaN below 0
        helper.make_node("Cast", ["x"], ["x16"], to=TensorProto.FLOAT16),
        helper.make_node("Mul", ["x16", "x16"], ["sq16"]),
    ]
    model = mf.make_model(
        nodes,
        [mf.vinfo("x", ["N", 4])],
        [mf.vinfo("logx", ["N", 4]), mf.vinfo("sq16", ["N", 4], TensorProto.FLOAT16)],
    )
    feeds = [{"x": np.array([[0.0, -1.0, 1.0, np.e]], np.float32)}, {"x": np.array([[0.0, 0.0, 0.0, 0.0]], np.float32)}]
    got = calibrate.collect_ranges(model, ["logx", "sq16"], feeds)
    assert got["logx"][:2] == (0.0, 1.0)  # log(1) and log(e); -inf and NaN left out
    assert got["sq16"][2] == np.float16 and got["sq16"][3] == 2
    assert np.isclose(got["sq16"][1], np.float16(np.e) ** 2, rtol=1e-3)
    assert calibrate.collect_ranges(model, ["logx"], feeds[1:])["logx"][:2] == (0.0, 0.0)  # never finite
