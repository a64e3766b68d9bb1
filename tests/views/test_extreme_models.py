"""Extreme but legal uploads on every page and every export of the app (issue 12, item 7).

Huge (1e38, float32's max) and tiny (1e-38) weights, NaN/Inf weights, one layer, no layer: each
page draws, or says why in a clear message; never Streamlit's error box, never a bare
AssertionError from onnxruntime's quantizer ("worker failed ... (AssertionError)").
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from qviz_dev import hostile_models as hm
from qviz_dev.app_pages import open_page, upload

PAGES = ("layer", "tune", "sensitivity", "tradeoffs", "export", "learn")
EXPORTS = ("deploy", "simulated", "report")
UNCLEAR = ("AssertionError", "worker failed", "unexpected", "Traceback")


def problems(at: AppTest, where: str) -> list[str]:
    """What went wrong on the page just run: exceptions, and error messages that explain nothing."""
    found = [f"{where}: exception {e.value}" for e in at.exception]
    found += [f"{where}: unclear error {e.value}" for e in at.error if any(u in str(e.value) for u in UNCLEAR)]
    return found


@pytest.mark.parametrize("name", list(hm.EXTREME))
def test_every_page_and_export_draws_or_says_why(name):
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "m.onnx", hm.mf.to_bytes(hm.EXTREME[name]()))
    found = problems(at, "model")
    for page in PAGES:
        at.switch_page(f"qviz/views/{page}.py")
        found += problems(at.run(), page)
        if page == "export":
            for kind in EXPORTS:
                button = [b for b in at.button if b.key == f"export_build_{kind}"]
                if button:
                    found += problems(button[0].click().run(), f"export {kind}")
    assert found == []


def test_nonfinite_weights_draw_the_layer_page():
    """The Layer page of a weight with NaN/Inf: the numbers of its finite values, no error."""
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "m.onnx", hm.mf.to_bytes(hm.nonfinite_stack()))
    at.switch_page("qviz/views/layer.py")
    at.run()
    assert not at.exception and not at.error
    assert at.get("plotly_chart")
