"""The Layer page through AppTest: numbers shown equal the engine's, the spec editor writes the config."""

import base64

import numpy as np
import pytest

from qviz.config import PRESETS, LayerConfig, ModelConfig
from qviz.model.simulate.resolve import resolve_layer
from qviz.quant import QuantSpec, quantize
from qviz.quant.metrics import sqnr_db
from qviz.samples import DEFAULT_SAMPLE
from qviz.ui import i18n
from qviz_dev.app_pages import MAX_FIGURE_BYTES, by_label, figure, figure_sizes, labels, metric, open_page, texts


@pytest.fixture(scope="module")
def default(bundled):
    """The default sample (the page opens on it)."""
    return bundled(DEFAULT_SAMPLE)


@pytest.fixture(scope="module")
def conv3x3(default) -> str:
    """A depthwise 3x3 conv of the default sample."""
    return next(x.id for x in default.layers if x.weight_shape[2:] == (3, 3) and x.weight_shape[1] == 1)


@pytest.fixture(scope="module")
def pointwise(default) -> str:
    """A wide (> 64 channels) pointwise conv of the default sample."""
    return next(x.id for x in default.layers if x.weight_shape[2:] == (1, 1) and x.weight_shape[0] > 64)


def the_layer(sample, layer_id: str):
    return next(x for x in sample.layers if x.id == layer_id)


def layer_page(layer_id: str, lang: str = "en", config: ModelConfig | None = None):
    state = {"layer_id": layer_id}
    if config is not None:
        state["model_config"] = config.to_json()
    return open_page("qviz/views/layer.py", lang, state)


def expected(sample, layer_id: str, config: ModelConfig):
    layer = the_layer(sample, layer_id)
    spec = resolve_layer(layer, config).weights
    w = sample.model.weights[layer.weight_name]
    return quantize(w, spec), w


@pytest.mark.parametrize("lang", list(i18n.LANGUAGES))
@pytest.mark.parametrize("kind", ["depthwise3x3", "pointwise"])
def test_numbers_equal_the_engine(default, conv3x3, pointwise, kind, lang):
    layer_id = {"depthwise3x3": conv3x3, "pointwise": pointwise}[kind]
    at = layer_page(layer_id, lang)
    assert not at.exception and not at.error
    result, w = expected(default, layer_id, PRESETS["w8a8"])
    assert metric(at, "metric_clipped") == f"{result.clipped_fraction:.3%}"
    assert metric(at, "metric_sqnr") == f"{sqnr_db(w, result.x_dq):.2f} dB"
    assert metric(at, "sum_params") == f"{the_layer(default, layer_id).params:,}"
    assert len(at.get("plotly_chart")) == 7 and "[[" not in "\n".join(texts(at))


def edit(at, kind: str, key: str, value):
    by_label(getattr(at, kind), key).set_value(value)
    return at.run()


def test_spec_editor_writes_the_override_and_clipping_matches_quantize(default, pointwise):
    at = layer_page(pointwise)
    at = edit(at, "slider", "bits", 4)
    at = edit(at, "selectbox", "granularity", "tensor")
    at = edit(at, "selectbox", "estimator", "percentile")
    config = ModelConfig.from_json(at.session_state["model_config"])
    spec = config.layers[pointwise].weights
    assert (spec.bits, spec.granularity, spec.estimator) == (4, "tensor", "percentile")
    assert set(config.layers) == {pointwise}  # only this layer got an override
    result, _ = expected(default, pointwise, config)
    assert result.clipped_fraction > 0
    assert metric(at, "metric_clipped") == f"{result.clipped_fraction:.3%}"
    assert metric(at, "lp_codes_used").endswith("/ 16")


def test_float_weights_and_reset(conv3x3):
    at = layer_page(conv3x3)
    at = edit(at, "checkbox", "lp_quantize", False)
    assert ModelConfig.from_json(at.session_state["model_config"]).layers[conv3x3].weights is None
    assert at.info[0].value in labels("lp_float_weights")
    by_label(at.button, "lp_reset").click().run()
    assert at.session_state["model_config"] == PRESETS["w8a8"].to_json()
    assert not at.exception and metric(at, "metric_sqnr").endswith("dB")


def test_impossible_spec_is_a_message(pointwise):
    at = edit(layer_page(pointwise), "slider", "bits", 16)
    at = edit(at, "selectbox", "scheme", "log")  # log needs 2..8 bits
    assert not at.exception
    assert "bits must be in 2..8" in at.error[0].value.replace("\\", "")
    assert (
        at.session_state["model_config"]
        == PRESETS["w8a8"]
        .with_layer(
            pointwise,
            LayerConfig(PRESETS["w8a8"].default.weights.replace(bits=16), PRESETS["w8a8"].default.activations),
        )
        .to_json()
    )


def test_estimator_table_matches_quantize(default, pointwise):
    at = layer_page(pointwise)
    table = at.dataframe[0].value
    config = PRESETS["w8a8"]
    _, w = expected(default, pointwise, config)
    spec = resolve_layer(the_layer(default, pointwise), config).weights
    for name, shown in zip(
        ["minmax", "percentile", "sigma", "mse", "entropy"], table[i18n.translate("sqnr_y", "en")], strict=True
    ):
        assert shown == pytest.approx(sqnr_db(w, quantize(w, spec.replace(estimator=name)).x_dq))


def test_layer_switch_from_the_picker(default, conv3x3, pointwise):
    at = layer_page(conv3x3)
    at = edit(at, "selectbox", "mp_layer", pointwise)
    assert at.session_state["layer_id"] == pointwise
    assert metric(at, "sum_params") == f"{the_layer(default, pointwise).params:,}"


def test_figures_stay_under_2_mb(pointwise):
    at = layer_page(pointwise)
    assert max(figure_sizes(at)) < MAX_FIGURE_BYTES


def histogram(at):
    """(threshold x values, bar centres and widths) of the Layer page's weight histogram (its first chart)."""
    fig = figure(at, 0)
    clip = next(tr for tr in fig["data"] if tr.get("name") in labels("hist_clip"))
    bars = next(tr for tr in fig["data"] if tr["type"] == "bar")
    return sorted({x for x in array(clip["x"]) if np.isfinite(x)}), array(bars["x"]), array(bars["width"])


def array(spec) -> np.ndarray:
    """A plotly 7 array (base64 {"dtype", "bdata"}) or a plain list (None -> NaN), as numpy."""
    if isinstance(spec, dict):
        return np.frombuffer(base64.b64decode(spec["bdata"]), dtype=spec["dtype"]).astype(np.float64)
    return np.array([np.nan if v is None else v for v in spec], dtype=np.float64)


def test_per_channel_histogram_is_one_channel_with_its_own_thresholds(default, conv3x3):
    at = layer_page(conv3x3)  # w8a8: int8 per-channel weights
    result, w = expected(default, conv3x3, PRESETS["w8a8"])
    rows = w.reshape(w.shape[0], -1)
    widest = int(np.argmax(np.ptp(rows, axis=1)))
    picker = at.number_input[0]
    assert picker.value == widest and picker.label.startswith(f"Channel {widest} of {len(rows)} (range [")
    for c in (widest, (widest + 1) % len(rows)):
        at = picker.set_value(c).run()
        picker = at.number_input[0]
        thresholds, centres, widths = histogram(at)
        assert thresholds == pytest.approx([result.lo[c], result.hi[c]])
        assert (centres - widths / 2).min() >= rows[c].min() - 1e-6 and (centres + widths / 2).max() <= rows[
            c
        ].max() + 1e-6
        assert picker.label.startswith(f"Channel {c} of")
    assert result.lo[widest] != result.lo[c]
    assert metric(at, "metric_clipped") == f"{result.clipped_fraction:.3%}"  # numbers stay whole-tensor
    assert any(x in labels("lp_one_channel_note") for x in texts(at))


def test_per_tensor_histogram_is_the_whole_tensor(default, pointwise):
    at = edit(layer_page(pointwise), "selectbox", "granularity", "tensor")
    result, w = expected(default, pointwise, ModelConfig.from_json(at.session_state["model_config"]))
    thresholds, centres, widths = histogram(at)
    assert not at.number_input and thresholds == pytest.approx([result.lo[0], result.hi[0]])
    assert (centres - widths / 2).min() == pytest.approx(w.min()) and (centres + widths / 2).max() == pytest.approx(
        w.max()
    )


@pytest.mark.parametrize(
    "spec",
    [
        QuantSpec(granularity="group", group_size=70000),
        QuantSpec(scheme="fixed_point", bits=24),
        QuantSpec(estimator="percentile", percentile=60.0),
    ],
    ids=["group70000", "fixed24", "p60"],
)
def test_editor_takes_any_valid_spec_from_a_shared_config(conv3x3, spec):
    """A URL config may hold any spec QuantSpec accepts: the editor's widgets must too."""
    at = layer_page(conv3x3, config=ModelConfig(default=LayerConfig(spec)))
    assert not at.exception
