"""The Trade-offs page through AppTest: every evaluated config is a point, the Pareto front is marked,
a config is restored from the picker, two configs are diffed per layer."""

import pytest

from qviz.config import PRESETS, LayerConfig, ModelConfig
from qviz.evaluate import evaluate, tuning
from qviz.evaluate.pareto import pareto_mask
from qviz.ui import i18n
from qviz_dev.app_pages import figure, open_page, texts

PRESET_NAMES = ["fp32", "w8a8", "w4g32"]  # then "mixed": w8a8 with layer 0 float and layer 2 w4g32


def scope(mlp) -> str:
    """The history scope: the model and the data the points were measured on."""
    return f"{mlp.model.sha256}/sample:digits_mlp"


@pytest.fixture(scope="module")
def configs(digits_mlp) -> dict[str, ModelConfig]:
    ids = digits_mlp.ids
    mixed = PRESETS["w8a8"].with_layer(ids[0], LayerConfig.float()).with_layer(ids[2], PRESETS["w4g32"].default)
    return {**{name: PRESETS[name] for name in PRESET_NAMES}, "mixed": mixed}


@pytest.fixture(scope="module")
def history(digits_mlp, configs) -> list:
    """Every config of `configs` evaluated, as the Tune page would have added them to the history."""
    out = []
    for label, config in configs.items():
        ev = evaluate(digits_mlp.model, config, digits_mlp.test_data, calib=digits_mlp.calib)
        out = tuning.add_to_history(out, tuning.history_entry(scope(digits_mlp), label, ev))
    return out


def trade_page(history: list, lang="en", config: ModelConfig = PRESETS["w8a8"]):
    state = {
        "model_source": {"kind": "sample", "id": "digits_mlp"},
        "model_config": config.to_json(),
        "tune_history": list(history),
    }
    return open_page("qviz/views/tradeoffs.py", lang, state)


@pytest.mark.parametrize("lang", list(i18n.LANGUAGES))
def test_every_config_is_a_point_and_the_front_is_marked(digits_mlp, configs, history, lang):
    at = trade_page(history, lang)
    assert not at.exception and not at.error and "[[" not in "\n".join(texts(at))
    points, _front_line = figure(at, 0)["data"]
    df = tuning.history_frame(history, scope(digits_mlp))
    assert len(points["text"]) == len(configs)  # the current config (w8a8) is not duplicated
    front = pareto_mask(df, "accuracy")
    assert [c == "#e45756" for c in points["marker"]["color"]] == front.tolist()
    smallest = df["weight_bytes"] == df["weight_bytes"].min()
    assert front[(smallest & (df["accuracy"] == df["accuracy"][smallest].max())).to_numpy()].all()
    assert len(at.dataframe[0].value) == len(configs)


def test_restore_a_config_from_the_picker(configs, history):
    at = trade_page(history)
    at.selectbox(key="trade_restore").set_value(list(configs).index("mixed"))
    at.run()
    at.button(key="trade_restore_btn").click()
    at.run()
    assert ModelConfig.from_json(at.session_state["model_config"]) == configs["mixed"]
    assert len(at.session_state["tune_history"]) == len(configs)


def test_diff_of_two_configs_lists_the_changed_layers(digits_mlp, configs, history):
    at = trade_page(history)
    at.selectbox(key="trade_a").set_value(list(configs).index("w8a8"))
    at.selectbox(key="trade_b").set_value(list(configs).index("mixed"))
    at.run()
    diff = at.dataframe[-1].value
    assert diff.iloc[:, 0].tolist() == [digits_mlp.ids[0], digits_mlp.ids[2]]
    assert any("2 of 3 layers differ" in c.value for c in at.caption)


def test_measure_latency_fills_every_point_and_sizes_the_markers(configs, history):
    at = trade_page(history)
    at.button(key="trade_measure").click()
    at = at.run()
    assert not at.exception and not at.error
    lat = [h["latency_ms"] for h in at.session_state["tune_history"]]
    assert len(lat) == len(configs) and all(x is not None and x > 0 for x in lat)
    points = figure(at, 0)["data"][0]
    assert "<br>" in points["hovertext"][0] and "ms" in points["hovertext"][0]


def test_points_measured_on_other_data_are_not_mixed_in(digits_mlp, configs, history):
    other = [{**h, "model": f"{digits_mlp.model.sha256}/npz:abc", "label": "other data"} for h in history]
    at = trade_page([*history, *other])
    assert not at.exception
    points, _ = figure(at, 0)["data"]
    assert len(points["text"]) == len(configs) and not any("other data" in t for t in points["text"])
