"""Cached computations on the current model: weight statistics, the model map, the Layer page's views.

Keys: the model's SHA-256, the weight's name, the spec or config as canonical JSON.
"""

from __future__ import annotations

import json

import streamlit as st

from qviz.evaluate.model_map import model_map_table, weight_sqnr
from qviz.lessons.inspect_layer import inspect_activation, inspect_group, inspect_weights
from qviz.model import Layer, weight_stats
from qviz.model.load.dequantize import dequantize_model
from qviz.model.simulate.resolve import LayerSpecs, resolve_layer, resolve_layer_specs
from qviz.quant import QuantSpec
from qviz.ui.models import CurrentModel
from qviz.ui.state import config_json, current_config, parse_config


@st.cache_data(max_entries=16, show_spinner=False)
def _stats(model_sha: str, _model: CurrentModel):
    return weight_stats(_model.loaded, _model.layers)


def layer_stats(model: CurrentModel):
    """weight_stats(...) of the model (one row per layer), cached by the model hash."""
    return _stats(model.sha256, model)


@st.cache_data(max_entries=4096, show_spinner=False)
def _weight_sqnr(model_sha: str, weight_name: str, spec_json: str, _model: CurrentModel) -> float:
    return weight_sqnr(_model.loaded.weights[weight_name], QuantSpec.from_dict(json.loads(spec_json)))


def _spec_json(spec: QuantSpec | None) -> str:
    return "null" if spec is None else json.dumps(spec.to_dict(), sort_keys=True)


@st.cache_data(max_entries=64, show_spinner=False)
def _model_map(model_sha: str, config_text: str, _model: CurrentModel):
    specs = resolve_layer_specs(_model.layers, parse_config(config_text))
    sqnr = {
        x.id: _weight_sqnr(model_sha, x.weight_name, _spec_json(specs[x.id].weights), _model)
        for x in _model.layers
        if specs[x.id].weights is not None
    }
    return model_map_table(_model.layers, layer_stats(_model), specs, sqnr)


def model_map(model: CurrentModel):
    """model_map_table for the current config (one row per layer), cached by (model hash, config JSON)."""
    return _model_map(model.sha256, config_json(), model)


def layer_specs(model: CurrentModel, layer: Layer) -> LayerSpecs:
    """The layer's resolved specs under the current config (concrete axes, group fallback note)."""
    return resolve_layer(layer, current_config())


@st.cache_data(max_entries=64, show_spinner=False)
def _weight_view(model_sha: str, weight_name: str, spec_json: str, channel_axis: int, _model: CurrentModel):
    w = _model.loaded.weights[weight_name]
    return inspect_weights(w, QuantSpec.from_dict(json.loads(spec_json)), channel_axis)


def weight_view(model: CurrentModel, layer: Layer, spec: QuantSpec):
    """inspect_weights of the layer's weight for `spec`, cached by (model hash, weight, spec)."""
    return _weight_view(model.sha256, layer.weight_name, _spec_json(spec), layer.channel_axis, model)


@st.cache_data(max_entries=64, show_spinner=False)
def _group_view(model_sha: str, weight_name: str, spec_json: str, index: int, _model: CurrentModel):
    return inspect_group(_model.loaded.weights[weight_name], QuantSpec.from_dict(json.loads(spec_json)), index)


def group_view(model: CurrentModel, layer: Layer, spec: QuantSpec, index: int):
    """inspect_group: one channel's/group's histogram with its own grid, cached like weight_view."""
    return _group_view(model.sha256, layer.weight_name, _spec_json(spec), int(index), model)


@st.cache_data(max_entries=64, show_spinner=False)
def _activation_view(model_sha: str, data_key: str, tensor: str, spec_json: str, _model: CurrentModel):
    spec = None if spec_json == "null" else QuantSpec.from_dict(json.loads(spec_json))
    return inspect_activation(_model.simulator.activations()[tensor], spec)


def activation_view(model: CurrentModel, layer: Layer, spec: QuantSpec | None):
    """Histogram of the layer's input on the calibration data (the Simulator's collected tensors);
    None without an input or when its If branch never ran on that data."""
    key = model.simulator.activation_key(layer)
    if key is None or model.simulator.uncalibrated(layer):
        return None
    return _activation_view(model.sha256, model.data_key, key, _spec_json(spec), model)


@st.cache_data(max_entries=4, show_spinner=False)
def _dequantized(model_sha: str, _model: CurrentModel) -> bytes:
    out, _ = dequantize_model(_model.loaded.model)
    return out.SerializeToString()


def dequantized_model(model: CurrentModel) -> bytes:
    """The float model of an already-quantized QDQ model (`qviz dequantize`), cached by the model
    hash; ModelError for QOperator models (qviz.model.load.dequantize)."""
    return _dequantized(model.sha256, model)
