"""Per-model config memory: each model keeps its own config; switching models never carries one
model's layer overrides to another.

Session-state keys:
    model_configs        {model sha256: canonical config JSON}, the last config of every model seen
    model_config_owner   the sha256 of the model the current config (state.CONFIG_KEY) belongs to

The rule, applied once the current model is known (qviz.ui.models.current_model):
    same model as the owner   -> nothing changes
    a model seen before       -> its last config comes back
    a model never seen        -> the current config's global default, WITHOUT its layer overrides
                                 (the preset the user chose, e.g. w4a8, follows; "features.0/Conv"
                                 of one model is not the layer of that name in another)
    no owner yet              -> the model adopts the current config (the URL's ?config=, a seed)

# NOTE: keyed by the model's content hash (samples and uploads alike), never by a name: two
# exports with the same layer ids are still two models.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from qviz.config import ModelConfig
from qviz.ui.state import CONFIG_KEY, current_config, parse_config

CONFIGS_KEY = "model_configs"
OWNER_KEY = "model_config_owner"


def fresh_config(config: ModelConfig) -> ModelConfig:
    """The config a never-seen model starts with: `config` without its layer overrides (its default
    and every other model-wide setting kept).

    >>> from qviz.config import PRESETS, LayerConfig
    >>> fresh_config(PRESETS["w4a8"].with_layer("conv1", LayerConfig.float())) == PRESETS["w4a8"]
    True
    """
    return dataclasses.replace(config, layers={})


def follow_model(model_sha256: str) -> None:
    """Make the current config the one of model `model_sha256` (the rule in the module docstring)."""
    owner = st.session_state.get(OWNER_KEY)
    if owner == model_sha256:
        return
    configs = st.session_state.setdefault(CONFIGS_KEY, {})
    current = current_config()
    if owner is not None:
        configs[owner] = current.to_json()
    remembered = configs.get(model_sha256)
    if owner is not None:
        config = parse_config(remembered) if remembered else fresh_config(current)
        st.session_state[CONFIG_KEY] = config.to_json()
    st.session_state[OWNER_KEY] = model_sha256
