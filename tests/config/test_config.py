"""Config types: round trips, canonical JSON, layer lookup, presets and every rejection."""

import json

import pytest

from qviz.config import PRESET_DESCRIPTIONS, PRESETS, LayerConfig, ModelConfig, preset
from qviz.quant import QuantSpec, SpecError

INT8 = QuantSpec(bits=8, granularity="channel", axis=0)
UINT8 = QuantSpec(bits=8, signed=False, symmetric=False)


def custom_config():
    return (
        ModelConfig(default=LayerConfig(INT8, UINT8))
        .with_layer("conv1", LayerConfig.float())
        .with_layer("fc", LayerConfig(QuantSpec(scheme="kmeans", bits=3), None, weights_axis="spec"))
        .with_layer(
            "head", LayerConfig(None, QuantSpec(bits=8, signed=False, symmetric=False), activations_dynamic=True)
        )
    )


CONFIGS = {**PRESETS, "custom": custom_config()}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_json_round_trip(name):
    cfg = CONFIGS[name]
    text = cfg.to_json()
    again = ModelConfig.from_json(text)
    assert again == cfg and hash(again) == hash(cfg)
    assert again.to_json() == text
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg


def test_json_is_canonical():
    cfg = custom_config()
    text = cfg.to_json()
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    reordered = ModelConfig(default=cfg.default, layers=dict(reversed(list(cfg.layers.items()))))
    assert reordered.to_json() == text
    pretty = json.dumps(cfg.to_dict(), indent=4)  # any valid JSON reads back the same
    assert ModelConfig.from_json(pretty).to_json() == text


def test_lookup_exact_id_wins_else_default():
    cfg = custom_config()
    assert cfg.for_layer("conv1").is_float
    assert cfg.for_layer("conv2") == cfg.default
    assert cfg.for_layer("fc").weights.scheme == "kmeans"


def test_with_layer_returns_a_new_config_and_none_removes():
    cfg = custom_config()
    changed = cfg.with_layer("conv1", LayerConfig(INT8, None))
    assert cfg.for_layer("conv1").is_float and changed.for_layer("conv1").weights == INT8
    assert "conv1" not in changed.with_layer("conv1", None).layers
    assert cfg.with_default(LayerConfig.float()).default.is_float


def test_configs_are_immutable_and_hashable():
    cfg = custom_config()
    with pytest.raises(TypeError):
        cfg.layers["x"] = LayerConfig()
    with pytest.raises(AttributeError):
        cfg.version = 2
    assert len({cfg, custom_config(), PRESETS["w8"]}) == 2


def test_missing_layer_keys_take_defaults():
    cfg = ModelConfig.from_json('{"version": 1, "layers": {"a": {"weights": {"bits": 4}}}}')
    assert cfg.default.is_float
    assert cfg.for_layer("a") == LayerConfig(QuantSpec(bits=4))


def test_presets():
    assert set(PRESETS) == {"fp32", "fp16", "w8a8", "w8", "w4g32", "w4a8"} == set(PRESET_DESCRIPTIONS)
    assert PRESETS["fp32"].default.is_float and not PRESETS["fp32"].layers
    fp16 = PRESETS["fp16"].default
    assert fp16.weights.scheme == fp16.activations.scheme == "float" and fp16.weights.float_format == "float16"
    w8a8 = PRESETS["w8a8"].default
    assert (w8a8.weights.bits, w8a8.weights.symmetric, w8a8.weights.granularity) == (8, True, "channel")
    assert (w8a8.activations.signed, w8a8.activations.symmetric, w8a8.activations.estimator) == (False, False, "minmax")
    assert not w8a8.activations_dynamic and w8a8.weights_axis == "auto"
    assert PRESETS["w8"].default.activations is None
    w4 = PRESETS["w4g32"].default
    assert (w4.weights.bits, w4.weights.granularity, w4.weights.group_size, w4.activations) == (4, "group", 32, None)
    assert PRESETS["w4a8"].default.activations == w8a8.activations
    assert preset("w8") is PRESETS["w8"]
    with pytest.raises(SpecError, match="preset must be one of"):
        preset("w2")


def layer_json(**layer):
    return json.dumps({"version": 1, "layers": {"conv1": layer}})


REJECTIONS = [
    ("not json", "not valid JSON"),
    ("[1, 2]", "config must be a JSON object"),
    ('{"layers": {}}', "config.version is missing"),
    ('{"version": 2}', "version must be 1"),
    ('{"version": true}', "version must be 1"),
    ('{"version": "1"}', "version must be 1"),
    ('{"version": 1.0}', "version must be 1"),
    ('{"version": 1, "extra": 0}', r"unknown key\(s\) 'extra' in config"),
    ('{"version": 1, "default": {"weigths": null}}', r"unknown key\(s\) 'weigths' in default"),
    (layer_json(weights={"bitz": 4}), r"layers\['conv1'\].weights: unknown key\(s\) bitz"),
    (layer_json(weights={"bits": "8"}), r"layers\['conv1'\].weights: bits must be an integer"),
    (layer_json(weights={"bits": 40}), r"layers\['conv1'\].weights: bits must be in 2..16"),
    (layer_json(weights={"range_min": "a"}), r"layers\['conv1'\].weights.range_min must be a number"),
    (layer_json(weights=[8]), r"layers\['conv1'\].weights: a quantization spec must be a JSON object"),
    (layer_json(weights={"bits": True}), r"layers\['conv1'\].weights: bits must be an integer"),
    ('{"version": 1, "default": {"weights": {"percentile": NaN}}}', "may not contain NaN"),
    ('{"version": 1, "layers": []}', "config.layers must be a JSON object"),
    ('{"version": 1, "layers": {"conv1": 3}}', r"layers\['conv1'\] must be a JSON object"),
    (layer_json(activations_dynamic="yes"), r"layers\['conv1'\]: activations_dynamic must be true or false"),
    (layer_json(weights_axis="output"), r"layers\['conv1'\]: weights_axis must be one of auto, spec"),
    (
        layer_json(activations={"scheme": "kmeans", "bits": 4}),
        r"activations.scheme must be one of int, fixed_point, float",
    ),
    (layer_json(activations={"scheme": "log", "bits": 4}), "activations.scheme must be one of"),
    (
        layer_json(activations={"granularity": "group", "axis": 1}),
        "activations.granularity must be one of tensor, channel",
    ),
    (layer_json(activations_dynamic=True), "activations_dynamic needs an activations spec"),
    (
        layer_json(activations={"scheme": "float"}, activations_dynamic=True),
        "activations_dynamic needs activations with scheme=int",
    ),
    (layer_json(activations={"estimator": "percentile"}, activations_dynamic=True), "estimator=minmax"),
]


@pytest.mark.parametrize("text, match", REJECTIONS, ids=[m[:40] for _, m in REJECTIONS])
def test_rejections_name_the_key(text, match):
    with pytest.raises(SpecError, match=match):
        ModelConfig.from_json(text)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"weights": {"bits": 8}}, "weights must be a QuantSpec or None"),
        ({"activations": QuantSpec(scheme="kmeans", bits=2)}, "activations.scheme"),
        ({"activations_dynamic": 1}, "activations_dynamic must be true or false"),
    ],
    ids=["dict-weights", "kmeans-activations", "int-flag"],
)
def test_layer_config_constructor_validates(kwargs, match):
    with pytest.raises(SpecError, match=match):
        LayerConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"version": 3}, "version must be 1"),
        ({"default": None}, "default must be a LayerConfig"),
        ({"layers": {"a": None}}, r"layers\['a'\] must be a LayerConfig"),
        ({"layers": {"": LayerConfig()}}, "non-empty strings"),
        ({"layers": [("a", LayerConfig())]}, "layers must be a mapping"),
    ],
    ids=["version", "default", "layer-value", "empty-id", "list"],
)
def test_model_config_constructor_validates(kwargs, match):
    with pytest.raises(SpecError, match=match):
        ModelConfig(**kwargs)
