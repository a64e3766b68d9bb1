"""Uploads in a real browser: a small image classifier built here, then its data, as a user gives them.

(1) an opset-13 conv net whose weight is a Constant node (loading normalizes it: upgrade + fold) and a
.zip of PNG/JPEG images in two class folders: the Model page says what it read, the Tune page scores
the quantized model's accuracy on those images; (2) model_factory's conv net and an .npz of inputs
and labels, the same way.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from onnx import helper, numpy_helper
from PIL import Image

from qviz_dev import model_factory as mf
from qviz_dev.browser import assert_no_errors, metric_value, tune_accuracy, upload_into, upload_model, wait_idle
from qviz_dev.data_factory import zip_folder

PERCENT = re.compile(r"\d{1,3}\.\d\d%")


def red_blue_net(size: int = 16) -> bytes:
    """x[N,3,size,size] -> Conv 'conv' (weight from a Constant node: class 0 = red mean, class 1 = blue
    mean) -> Relu -> GlobalAveragePool -> Flatten -> Gemm 'fc' (identity) -> y[N,2]; opset 13, IR 7."""
    w = np.zeros((2, 3, 3, 3), np.float32)
    w[0, 0], w[1, 2] = 1 / 9, 1 / 9
    nodes = [
        helper.make_node("Constant", [], ["conv.weight"], value=numpy_helper.from_array(w)),
        helper.make_node("Conv", ["x", "conv.weight"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], name="fc", transB=1),
    ]
    inits = [mf.init("fc.weight", np.eye(2, dtype=np.float32)), mf.init("fc.bias", np.zeros(2, np.float32))]
    x, y = mf.vinfo("x", ["N", 3, size, size]), mf.vinfo("y", ["N", 2])
    return mf.to_bytes(mf.make_model(nodes, [x], [y], inits, opset=13, ir_version=7))


def red_blue_images(root):
    """3 noisy red and 3 noisy blue images (PNG and JPEG, 40 x 36) in class folders 0_red and 1_blue."""
    rng = np.random.default_rng(0)
    for label, channel in (("0_red", 0), ("1_blue", 2)):
        (root / label).mkdir(parents=True)
        for i, fmt in enumerate(["PNG", "JPEG", "PNG"]):
            a = rng.integers(0, 60, (36, 40, 3), dtype=np.uint8)
            a[:, :, channel] = 200
            Image.fromarray(a, "RGB").save(root / label / f"{i}.{fmt.lower()}", fmt)
    return root


@pytest.mark.slow
def test_upload_a_normalized_model_and_an_images_zip(page, app_url, tmp_path):
    model = tmp_path / "red_blue.onnx"
    model.write_bytes(red_blue_net())
    upload_model(page, app_url, model)
    page.get_by_text("qviz normalized this model when loading it").first.wait_for()
    page.get_by_text("opset 13 upgraded to 21").first.wait_for()
    page.get_by_text("1 constant-only node (Constant x1) folded").first.wait_for()
    assert metric_value(page, "Opset") == "21"
    assert metric_value(page, "Layers") == "2"  # the Conv whose weight was a Constant is a layer now

    images = tmp_path / "colors.zip"
    images.write_bytes(zip_folder(red_blue_images(tmp_path / "imgs")))
    upload_into(page, "Inputs and labels", images)
    page.get_by_text("Read: 6 images in 2 classes (0_red=0, 1_blue=1)").first.wait_for()
    wait_idle(page)
    assert page.get_by_text("Image preprocessing").first.is_visible()
    page.get_by_text("Calibration data: your uploaded inputs (6 rows).").first.wait_for()
    assert_no_errors(page)

    accuracy = tune_accuracy(page)
    assert PERCENT.match(accuracy), accuracy
    assert page.get_by_text("Scored on 6 samples (images)").first.is_visible()
    assert page.get_by_text("Current model: red_blue.onnx").first.is_visible()


@pytest.mark.slow
def test_upload_a_conv_net_and_an_npz(page, app_url, tmp_path):
    model = tmp_path / "conv_net.onnx"
    model.write_bytes(mf.to_bytes(mf.conv_net()))
    upload_model(page, app_url, model)

    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 3, 8, 8)).astype(np.float32)
    y = rng.integers(0, 10, 8)
    data = tmp_path / "inputs.npz"
    np.savez(data, x=x, y=y)
    upload_into(page, "Inputs and labels", data)
    page.get_by_text("Calibration data: your uploaded inputs (8 rows).").first.wait_for()
    wait_idle(page)
    assert_no_errors(page)

    accuracy = tune_accuracy(page)
    assert PERCENT.match(accuracy), accuracy
    assert page.get_by_text("Scored on 8 samples (npz)").first.is_visible()
