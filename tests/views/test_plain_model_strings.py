"""Model-provided strings render as plain text on the pages (issue 12, item 6): a node name or an
.npz key that is Markdown becomes no heading and no link in the message that quotes it."""

from __future__ import annotations

import io

import numpy as np
import onnx
import pytest

from qviz_dev.app_pages import open_page, texts, tiny_model, upload
from qviz_dev.hostile_models import MARKUP_NODE_NAME, MARKUP_NPZ_KEY
from qviz_dev.markdown_oracle import markup


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_node_name_in_the_upload_error_is_plain_text():
    at = upload(
        open_page("qviz/views/model.py"), "model_upload_onnx", "m.onnx", tiny_model(MARKUP_NODE_NAME, "com.evil")
    )
    assert not at.exception
    (error,) = [str(e.value) for e in at.error]
    assert "custom domain" in error and "evil" in error
    assert markup(error) == []


def test_npz_key_in_the_data_error_is_plain_text():
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "m.onnx", tiny_model())
    assert not at.exception and not at.error
    at = upload(at, "model_upload_npz", "d.npz", npz(**{MARKUP_NPZ_KEY: np.zeros((2, 4), np.float32)}))
    assert not at.exception
    errors = [str(e.value) for e in at.error]
    assert errors and any("evil" in e for e in errors)
    assert [markup(e) for e in errors] == [[] for _ in errors]


@pytest.mark.parametrize("page", ["model", "layer", "tune", "sensitivity", "tradeoffs", "export"])
def test_every_text_element_quoting_the_hostile_name_is_plain(page):
    """A layer named like an attack: every text on every page that quotes it stays plain."""
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "m.onnx", tiny_model(MARKUP_NODE_NAME))
    at.switch_page(f"qviz/views/{page}.py")
    at.run()
    assert not at.exception and not at.error
    quoting = [s for s in texts(at) if "evil" in s]
    assert [markup(s) for s in quoting] == [[] for _ in quoting]


def test_output_name_in_the_tune_caption_is_plain_text():
    """Tune's "which output the numbers compare" caption quotes the model's output name
    (needs the qviz/ui/scoring.py measure_text escape)."""
    model = onnx.load_model_from_string(tiny_model())
    model.graph.node[0].output[0] = model.graph.output[0].name = MARKUP_NPZ_KEY
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "m.onnx", model.SerializeToString())
    at.switch_page("qviz/views/tune.py")
    at.run()
    assert not at.exception
    quoting = [s for s in texts(at) if "evil" in s]
    assert quoting and [markup(s) for s in quoting] == [[] for _ in quoting]
