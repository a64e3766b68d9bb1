"""The Tune page shows the headline numbers first; a model whose per-layer chart costs more than a
quick rerun computes it only when its toggle is on (ResNet-50-sized models: seconds per change)."""

from __future__ import annotations

from qviz.config import PRESETS
from qviz.ui import scoring
from qviz_dev.app_pages import by_label, labels, open_page

STATE = {"model_source": {"kind": "sample", "id": "digits_mlp"}, "model_config": PRESETS["w8a8"].to_json()}


def test_small_model_shows_the_chart_at_once():
    at = open_page("qviz/views/tune.py", "en", STATE)
    assert not at.exception and len(at.get("plotly_chart")) == 1
    assert not [x for x in at.toggle if x.label in labels("tn_layer_errors")]


def test_big_model_waits_for_the_toggle(monkeypatch):
    monkeypatch.setattr(scoring, "LAYER_ERRORS_AT_ONCE_MACS", 0)  # every model is "big"
    at = open_page("qviz/views/tune.py", "en", STATE)
    assert not at.exception and not at.error and at.metric  # the headline numbers are there
    assert len(at.get("plotly_chart")) == 0
    by_label(at.toggle, "tn_layer_errors").set_value(True)
    at.run()
    assert not at.exception and len(at.get("plotly_chart")) == 1
