"""The Model page keeps the data upload open for a model that passes its checks but does not run on
generated inputs (issue 17): its own .npz, run in a worker, makes it the current model."""

from __future__ import annotations

import io

import numpy as np
import pytest
from onnx import helper

from qviz_dev import model_factory as mf
from qviz_dev.app_pages import open_page, upload
from qviz_dev.hostile_models import CORPUS


def only_25_by_40() -> bytes:
    """x[N, 1, H, W] -> Reshape [N, 1000] -> MatMul -> y[N, 4]: no generated size runs (H x W = 1000)."""
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["f"]), helper.make_node("MatMul", ["f", "w"], ["y"])]
    inits = [mf.init("shape", np.array([0, 1000], np.int64)), mf.init("w", mf.rand((1000, 4)))]
    model = mf.make_model(nodes, [mf.vinfo("x", ["N", 1, "H", "W"])], [mf.vinfo("y", ["N", 4])], inits)
    return mf.to_bytes(model)


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.fixture
def pending_page():
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "odd.onnx", only_25_by_40())
    assert not at.exception and len(at.error) == 1 and "none of the generated sizes" in at.error[0].value
    assert at.session_state["model_source"]["kind"] == "sample"
    return at


def test_its_own_inputs_make_it_the_current_model(pending_page):
    at = upload(pending_page, "model_upload_pending_npz", "x.npz", npz(x=mf.rand((3, 1, 25, 40))))
    assert not at.exception and not at.error
    assert at.session_state["model_source"]["kind"] == "upload"
    assert at.session_state["model_data"]["data"].rows == 3
    assert not any(u.key == "model_upload_pending_npz" for u in at.get("file_uploader"))


def test_inputs_it_does_not_run_on_leave_it_pending(pending_page):
    at = upload(pending_page, "model_upload_pending_npz", "x.npz", npz(x=mf.rand((3, 1, 8, 8))))
    assert not at.exception and any("Cannot use these inputs" in e.value for e in at.error)
    assert at.session_state["model_source"]["kind"] == "sample"


def test_a_model_that_fails_its_checks_gets_no_data_upload():
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "evil.onnx", CORPUS["custom_domain"].data)
    assert len(at.error) == 1
    assert not any(u.key == "model_upload_pending_npz" for u in at.get("file_uploader"))
