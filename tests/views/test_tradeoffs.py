"""The Trade-offs page through AppTest: every evaluated config is a point, the Pareto front is marked,
a config is restored from the picker, two configs are diffed per layer."""

import pytest

from app_pages import figure, open_page, texts
from qviz.ui import i18n
from qviz.evaluate import tuning
from qviz.config import LayerConfig, ModelConfig, PRESETS
from qviz.evaluate import evaluate, from_sample
from qviz.model import layer_table, load_model
from qviz.samples import load_sample

SAMPLE = load_sample("digits_mlp")
LOADED = load_model(SAMPLE.model_bytes)
IDS = [x.id for x in layer_table(LOADED)]
SCOPE = f"{LOADED.sha256}/sample:digits_mlp"  # the model and the data the points were measured on
CONFIGS = {
    "fp32": PRESETS["fp32"],
    "w8a8": PRESETS["w8a8"],
    "w4g32": PRESETS["w4g32"],
    "mixed": PRESETS["w8a8"].with_layer(IDS[0], LayerConfig.float()).with_layer(IDS[2], PRESETS["w4g32"].default),
}


def history() -> list:
    data = from_sample(SAMPLE, "test")
    out = []
    for label, config in CONFIGS.items():
        ev = evaluate(LOADED, config, data, calib=SAMPLE.calibration.x)
        out = tuning.add_to_history(out, tuning.history_entry(SCOPE, label, ev))
    return out


HISTORY = history()


def trade_page(lang="en", config: ModelConfig = PRESETS["w8a8"], history=HISTORY):
    state = {
        "model_source": {"kind": "sample", "id": "digits_mlp"},
        "model_config": config.to_json(),
        "tune_history": list(history),
    }
    return open_page("qviz/views/tradeoffs.py", lang, state)


@pytest.mark.parametrize("lang", list(i18n.LANGUAGES))
def test_every_config_is_a_point_and_the_front_is_marked(lang):
    at = trade_page(lang)
    assert not at.exception and not at.error and "[[" not in "\n".join(texts(at))
    points, front_line = figure(at, 0)["data"]
    df = tuning.history_frame(HISTORY, SCOPE)
    assert len(points["text"]) == len(CONFIGS)  # the current config (w8a8) is not duplicated
    front = tuning.pareto_mask(df, "accuracy")
    assert [c == "#e45756" for c in points["marker"]["color"]] == front.tolist()
    smallest = df["weight_bytes"] == df["weight_bytes"].min()
    assert front[(smallest & (df["accuracy"] == df["accuracy"][smallest].max())).to_numpy()].all()
    assert len(at.dataframe[0].value) == len(CONFIGS)


def test_restore_a_config_from_the_picker():
    at = trade_page()
    at.selectbox(key="trade_restore").set_value(list(CONFIGS).index("mixed"))
    at.run()
    at.button(key="trade_restore_btn").click()
    at.run()
    assert ModelConfig.from_json(at.session_state["model_config"]) == CONFIGS["mixed"]
    assert len(at.session_state["tune_history"]) == len(CONFIGS)


def test_diff_of_two_configs_lists_the_changed_layers():
    at = trade_page()
    at.selectbox(key="trade_a").set_value(list(CONFIGS).index("w8a8"))
    at.selectbox(key="trade_b").set_value(list(CONFIGS).index("mixed"))
    at.run()
    diff = at.dataframe[-1].value
    assert diff.iloc[:, 0].tolist() == [IDS[0], IDS[2]]
    assert any("2 of 3 layers differ" in c.value for c in at.caption)


def test_measure_latency_fills_every_point_and_sizes_the_markers():
    at = trade_page()
    at.button(key="trade_measure").click()
    at = at.run()
    assert not at.exception and not at.error
    lat = [h["latency_ms"] for h in at.session_state["tune_history"]]
    assert len(lat) == len(CONFIGS) and all(x is not None and x > 0 for x in lat)
    points = figure(at, 0)["data"][0]
    assert "<br>" in points["hovertext"][0] and "ms" in points["hovertext"][0]


def test_points_measured_on_other_data_are_not_mixed_in():
    other = [{**h, "model": f"{LOADED.sha256}/npz:abc", "label": "other data"} for h in HISTORY]
    at = trade_page(history=[*HISTORY, *other])
    assert not at.exception
    points, _ = figure(at, 0)["data"]
    assert len(points["text"]) == len(CONFIGS) and not any("other data" in t for t in points["text"])
