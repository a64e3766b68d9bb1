"""The Layer page's spec editor: its widget keys and the callback that writes the layer's override."""

from __future__ import annotations

import hashlib

import streamlit as st

from qviz.config import PRESETS
from qviz.quant import QuantSpec, SpecError
from qviz.ui.state import DEFAULT_PRESET, current_config, set_layer_weights

EDIT_FIELDS = (
    "quantize",
    "scheme",
    "bits",
    "float_format",
    "symmetric",
    "granularity",
    "group_size",
    "estimator",
    "percentile",
    "rounding",
)


def edit_key(field: str, token: str) -> str:
    return f"layer_edit_{field}_{token}"


def edit_token(layer_id: str) -> str:
    """Widget-key suffix: changes whenever the layer's config changes, so the editor shows it fresh."""
    text = layer_id + current_config().for_layer(layer_id).to_dict().__repr__()
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def edited_weights(layer_id: str) -> QuantSpec | None:
    """The weights spec the editor shows: the layer's own, else the config default's (None = float).

    When a float layer is switched back on, the editor starts from the w8a8 preset's weights.
    """
    return current_config().for_layer(layer_id).weights


def apply_layer_edit(layer_id: str, token: str) -> None:
    """on_change of every editor widget: build the spec from the widgets, write the override."""
    values = {f: st.session_state.get(edit_key(f, token)) for f in EDIT_FIELDS}
    if not values["quantize"]:
        set_layer_weights(layer_id, None)
        return
    base = edited_weights(layer_id) or PRESETS[DEFAULT_PRESET].default.weights
    assert base is not None  # DEFAULT_PRESET quantizes weights
    changes = {f: values[f] for f in EDIT_FIELDS[1:] if values[f] is not None}
    try:
        spec = base.replace(**changes)
    except SpecError as error:
        st.session_state["layer_edit_error"] = str(error)
        return
    set_layer_weights(layer_id, spec)


def edit_error() -> str | None:
    return st.session_state.pop("layer_edit_error", None)
