"""The Sensitivity page through AppTest: the heatmap equals qviz.evaluate.sweep, stop/resume keeps
the layers done, the search's best config is shown and applied with one click."""

import base64

import numpy as np
import pytest

from qviz.config import PRESETS, ModelConfig
from qviz.evaluate import Budget, default_candidates, search, sweep
from qviz.ui import i18n
from qviz_dev.app_pages import figure, metric, open_page, texts

STATE = {"model_source": {"kind": "sample", "id": "digits_mlp"}}


def heat(at) -> np.ndarray:
    z = figure(at, 0)["data"][0]["z"]
    if isinstance(z, dict):
        return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(
            [int(n) for n in str(z["shape"]).split(",")]
        )
    return np.asarray(z, dtype=float)


def run_sweep(at, pattern: str = ""):
    at.text_input(key="sens_pattern").set_value(pattern)
    at.button(key="sens_run").click()
    return at.run()


@pytest.mark.parametrize("lang", list(i18n.LANGUAGES))
def test_sweep_heatmap_equals_the_engine(digits_mlp, lang):
    at = run_sweep(open_page("qviz/views/sensitivity.py", lang, STATE))
    assert not at.exception and not at.error
    ref = sweep(digits_mlp.model, digits_mlp.test_data, (8, 4), calib=digits_mlp.calib).records
    ref = (
        ref[ref["mode"] == "weights"]
        .pivot(index="layer", columns="candidate", values="damage")
        .reindex(index=digits_mlp.ids, columns=["w8", "w4"])
    )
    np.testing.assert_allclose(heat(at), ref.to_numpy(), atol=1e-12)
    assert at.session_state["sens_sweep"]["status"] == "done" and "[[" not in "\n".join(texts(at))


def test_pattern_limits_the_layers_and_a_stopped_sweep_resumes(digits_mlp):
    at = run_sweep(open_page("qviz/views/sensitivity.py", "en", STATE), "net.4")
    assert heat(at).shape == (1, 2)
    at.session_state["sens_sweep"] = {
        **at.session_state["sens_sweep"],
        "layers": digits_mlp.ids,
        "records": [],
        "status": "stopped",
    }
    at = at.run()
    assert any("Stopped after 0 of 3" in w.value for w in at.warning)
    at.button(key="sens_resume").click()
    at = at.run()
    assert at.session_state["sens_sweep"]["status"] == "done" and heat(at).shape == (3, 2)
    assert not np.isnan(heat(at)).any()


def test_search_shows_the_best_config_and_applies_it(digits_mlp):
    at = open_page("qviz/views/sensitivity.py", "en", STATE)
    at.selectbox(key="sens_budget_kind").set_value("bpw")
    at.multiselect(key="sens_search_bits").set_value([8, 4])
    at.number_input(key="sens_budget_bpw").set_value(6.0)
    at.button(key="sens_search_run").click()
    at = at.run()
    assert not at.exception and not at.error
    assert "sens_search_stop" not in [b.key for b in at.button]  # the search ended: no Stop button left
    assert at.checkbox(key="sens_keep_act").value  # the app's w8a8 keeps its activations in the search
    ref = search(
        digits_mlp.model,
        digits_mlp.test_data,
        Budget("bpw", 6.0),
        candidates=default_candidates((8, 4)),
        calib=digits_mlp.calib,
        base=PRESETS["w8a8"],
    )
    assert metric(at, "tn_size") == f"{ref.best['weight_bytes'] / 1024:.1f} KiB"
    assert metric(at, "to_metric_accuracy") == f"{ref.best['accuracy']:.2%}"
    assert at.dataframe[0].value.shape[0] == len(digits_mlp.ids)
    at.button(key="sens_apply").click()
    at = at.run()
    assert ModelConfig.from_json(at.session_state["model_config"]) == ref.best_config
    assert at.session_state["tune_history"][-1]["config"] == ref.best_config.to_json()


def test_the_search_keeps_activations_float_only_when_the_config_does():
    """Issue 15, item 6: the "uint8 activations" box follows the current config, so applying the
    search's result never turns a w8a8 config into a weight-only one without a word."""
    float_config = open_page("qviz/views/sensitivity.py", "en", {**STATE, "model_config": ModelConfig().to_json()})
    assert not float_config.exception and not float_config.checkbox(key="sens_keep_act").value
    w8a8 = open_page("qviz/views/sensitivity.py", "en", {**STATE, "model_config": PRESETS["w8a8"].to_json()})
    assert w8a8.checkbox(key="sens_keep_act").value
