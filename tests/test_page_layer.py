"""The Layer page through AppTest: numbers shown equal the engine's, the spec editor writes the config."""

import pytest

from app_pages import by_label, figure_sizes, labels, metric, MAX_FIGURE_BYTES, open_page, texts
from qviz import i18n
from qviz.config import ModelConfig, PRESETS
from qviz.model import layer_table, load_model
from qviz.model.resolve import resolve_layer
from qviz.quant import quantize
from qviz.quant.metrics import sqnr_db
from qviz.samples import DEFAULT_SAMPLE, load_sample

LOADED = load_model(load_sample(DEFAULT_SAMPLE).model_bytes)
LAYERS = {x.id: x for x in layer_table(LOADED)}
CONV3X3 = next(x.id for x in LAYERS.values() if x.weight_shape[2:] == (3, 3) and x.weight_shape[1] == 1)
POINTWISE = next(x.id for x in LAYERS.values() if x.weight_shape[2:] == (1, 1) and x.weight_shape[0] > 64)


def layer_page(layer_id: str, lang: str = "en", config: ModelConfig | None = None):
    state = {"layer_id": layer_id}
    if config is not None:
        state["model_config"] = config.to_json()
    return open_page("views/layer.py", lang, state)


def expected(layer_id: str, config: ModelConfig):
    layer = LAYERS[layer_id]
    spec = resolve_layer(layer, config).weights
    w = LOADED.weights[layer.weight_name]
    return quantize(w, spec), w


@pytest.mark.parametrize("lang", list(i18n.LANGUAGES))
@pytest.mark.parametrize("layer_id", [CONV3X3, POINTWISE], ids=["depthwise3x3", "pointwise"])
def test_numbers_equal_the_engine(layer_id, lang):
    at = layer_page(layer_id, lang)
    assert not at.exception and not at.error
    result, w = expected(layer_id, PRESETS["w8a8"])
    assert metric(at, "metric_clipped") == f"{result.clipped_fraction:.3%}"
    assert metric(at, "metric_sqnr") == f"{sqnr_db(w, result.x_dq):.2f} dB"
    assert metric(at, "sum_params") == f"{LAYERS[layer_id].params:,}"
    assert len(at.get("plotly_chart")) == 7 and "[[" not in "\n".join(texts(at))


def edit(at, kind: str, key: str, value):
    by_label(getattr(at, kind), key).set_value(value)
    return at.run()


def test_spec_editor_writes_the_override_and_clipping_matches_quantize():
    at = layer_page(POINTWISE)
    at = edit(at, "slider", "bits", 4)
    at = edit(at, "selectbox", "granularity", "tensor")
    at = edit(at, "selectbox", "estimator", "percentile")
    config = ModelConfig.from_json(at.session_state["model_config"])
    spec = config.layers[POINTWISE].weights
    assert (spec.bits, spec.granularity, spec.estimator) == (4, "tensor", "percentile")
    assert set(config.layers) == {POINTWISE}                          # only this layer got an override
    result, _ = expected(POINTWISE, config)
    assert result.clipped_fraction > 0
    assert metric(at, "metric_clipped") == f"{result.clipped_fraction:.3%}"
    assert metric(at, "lp_codes_used").endswith("/ 16")


def test_float_weights_and_reset():
    at = layer_page(CONV3X3)
    at = edit(at, "checkbox", "lp_quantize", False)
    assert ModelConfig.from_json(at.session_state["model_config"]).layers[CONV3X3].weights is None
    assert at.info[0].value in labels("lp_float_weights")
    by_label(at.button, "lp_reset").click().run()
    assert at.session_state["model_config"] == PRESETS["w8a8"].to_json()
    assert not at.exception and metric(at, "metric_sqnr").endswith("dB")


def test_impossible_spec_is_a_message():
    at = edit(layer_page(POINTWISE), "slider", "bits", 1)            # int needs 2..16
    assert not at.exception
    assert "bits must be in 2..16" in at.error[0].value.replace("\\", "")
    assert at.session_state["model_config"] == PRESETS["w8a8"].to_json()


def test_estimator_table_matches_quantize():
    at = layer_page(POINTWISE)
    table = at.dataframe[0].value
    config = PRESETS["w8a8"]
    _, w = expected(POINTWISE, config)
    spec = resolve_layer(LAYERS[POINTWISE], config).weights
    for name, shown in zip(["minmax", "percentile", "sigma", "mse", "entropy"], table[i18n.translate("sqnr_y", "en")]):
        assert shown == pytest.approx(sqnr_db(w, quantize(w, spec.replace(estimator=name)).x_dq))


def test_layer_switch_from_the_picker():
    at = layer_page(CONV3X3)
    at = edit(at, "selectbox", "mp_layer", POINTWISE)
    assert at.session_state["layer_id"] == POINTWISE
    assert metric(at, "sum_params") == f"{LAYERS[POINTWISE].params:,}"


def test_figures_stay_under_2_mb():
    at = layer_page(POINTWISE)
    assert max(figure_sizes(at)) < MAX_FIGURE_BYTES
