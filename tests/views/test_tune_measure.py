"""The Tune page says which measure applied (qviz.evaluate.output_kind), in both languages; a model
whose output has no class decision shows SQNR and cosine, never an agreement it does not have."""

from __future__ import annotations

import pytest

from qviz.config import PRESETS
from qviz.ui import i18n
from qviz_dev import model_factory as mf
from qviz_dev import output_models as om
from qviz_dev.app_pages import labels, metric, open_page, texts, upload


@pytest.mark.parametrize("lang", list(i18n.LANGUAGES))
def test_sample_shows_the_class_axis_line(lang):
    state = {"model_source": {"kind": "sample", "id": "digits_mlp"}, "model_config": PRESETS["w8a8"].to_json()}
    at = open_page("qviz/views/tune.py", lang, state)
    assert not at.exception and not at.error
    kl = i18n.translate("tn_kl_softmax", lang)
    want = i18n.translate("tn_measure_classes", lang, name="logits", axis=1, positions="", kl=kl)
    assert want in texts(at, ("caption",))


def test_detection_head_upload_shows_values_line_and_cosine():
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "det.onnx", mf.to_bytes(om.detection_head(6)))
    at.switch_page("qviz/views/tune.py")
    at = at.run()
    assert not at.exception and not at.error, texts(at)
    assert i18n.translate("tn_measure_values", "en", name="y") in texts(at, ("caption",))
    assert float(metric(at, "tn_cosine")) > 0.9
    assert not [m for m in at.metric if m.label in labels("tn_agreement") | labels("tn_accuracy")]
    at.switch_page("qviz/views/tradeoffs.py")
    at = at.run()
    assert not at.exception and not at.error and "[[" not in "\n".join(texts(at))
