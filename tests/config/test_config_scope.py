"""ModelConfig.activation_scope: "graph" (what the deployed model quantizes) or "layers" (inputs only)."""

from __future__ import annotations

import json

import pytest

from qviz.config import PRESETS, ModelConfig
from qviz.quant.spec import SpecError


def test_presets_with_static_activations_quantize_the_deployed_graph():
    assert PRESETS["w8a8"].activation_scope == "graph"
    assert PRESETS["w4a8"].activation_scope == "graph"
    assert PRESETS["w8"].activation_scope == "layers"  # no activations: the scope changes nothing
    assert ModelConfig().activation_scope == "layers"


def test_scope_round_trips_and_is_part_of_the_canonical_json():
    cfg = PRESETS["w8a8"]
    assert json.loads(cfg.to_json())["activation_scope"] == "graph"
    assert ModelConfig.from_json(cfg.to_json()) == cfg
    layers = cfg.with_scope("layers")
    assert layers != cfg and layers.to_json() != cfg.to_json()
    assert "activation_scope" not in json.loads(layers.to_json())  # "layers" is the absent key


def test_json_written_before_the_key_loads_as_layer_inputs_only():
    old = PRESETS["w8a8"].to_dict()
    del old["activation_scope"]
    cfg = ModelConfig.from_dict(old)
    assert cfg.activation_scope == "layers" and cfg.default == PRESETS["w8a8"].default
    assert cfg.to_json() == json.dumps(old, sort_keys=True, separators=(",", ":"))  # its text unchanged


def test_changing_a_layer_keeps_the_scope():
    cfg = PRESETS["w8a8"].with_layer("conv1", PRESETS["w8"].default)
    assert cfg.activation_scope == "graph"


@pytest.mark.parametrize("bad", ["deployed", "", 1, None])
def test_unknown_scope_is_a_spec_error(bad):
    data = {**PRESETS["w8a8"].to_dict(), "activation_scope": bad}
    with pytest.raises(SpecError, match="activation_scope must be one of graph, layers"):
        ModelConfig.from_dict(data)
