"""The app's model size cap is the server operator's (QVIZ_MAX_MODEL_MB, docs/deployment.md): a raised
cap lets a bigger model in, and a refusal names the limit and how to raise it.

# NOTE: one test, the raised cap first: the upload workers read the cap when they start (an operator
# restarts the server to change it), and they outlive a test.
"""

from __future__ import annotations

from qviz_dev import model_factory as mf
from qviz_dev.app_pages import open_page, upload
from qviz_dev.markdown_oracle import rendered_text


def _big_model(seed: int) -> bytes:
    return mf.to_bytes(mf.gemm_stack(2, 400, seed=seed))  # 2 x 400 x 400 float32: 1.2 MiB


def _upload(monkeypatch, cap_mb: str):
    monkeypatch.setenv("QVIZ_MAX_MODEL_MB", cap_mb)
    at = open_page("qviz/views/model.py")
    at.default_timeout = 300
    return upload(at, "model_upload_onnx", "big.onnx", _big_model(int(cap_mb)))


def test_the_cap_is_the_operators_and_its_refusal_says_how_to_raise_it(monkeypatch):
    at = _upload(monkeypatch, "2")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["model_source"]["kind"] == "upload"
    at = _upload(monkeypatch, "1")
    assert not at.exception and at.error and at.session_state["model_source"]["kind"] == "sample"
    message = rendered_text(at.error[0].value)
    assert "the limit is 1 MiB" in message and "QVIZ_MAX_MODEL_MB" in message, message
