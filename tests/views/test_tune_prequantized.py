"""Tune on an uploaded model whose every layer is already quantized (the int8 turn detector, issue 17):
the page said "no layer with a constant weight" and showed no number, so the upload looked stuck.
It now says the layers are already quantized and how to tune them (the dequantized float model)."""

from __future__ import annotations

from qviz_dev import model_factory as mf
from qviz_dev.app_pages import labels, open_page, texts, upload


def test_tune_says_every_layer_is_already_quantized():
    at = open_page("qviz/views/model.py")
    at.default_timeout = 300
    at = upload(at, "model_upload_onnx", "qdq.onnx", mf.to_bytes(mf.qdq_conv()))
    assert not at.exception and not at.error and at.session_state["model_source"]["kind"] == "upload"
    at.switch_page("qviz/views/tune.py")
    at.run()
    assert not at.exception and not at.error
    shown = "\n".join(texts(at, ("info",)))
    assert not any(text in shown for text in labels("mp_no_layers"))
    assert "already quantized" in shown and "dequantized" in shown
