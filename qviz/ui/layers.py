"""The selected layer: the current one, the layer picker, a click on the model map."""

from __future__ import annotations

import streamlit as st

from qviz.model import Layer
from qviz.ui.models import CurrentModel, current_model
from qviz.ui.state import LAYER_KEY


def current_layer(model: CurrentModel) -> Layer | None:
    """The selected layer; the first one when nothing (or an id of another model) is selected."""
    by_id = {x.id: x for x in model.layers}
    chosen = by_id.get(st.session_state.get(LAYER_KEY, ""))  # ("": no layer has it)
    if chosen is None and model.layers:
        chosen = model.layers[0]
        st.session_state[LAYER_KEY] = chosen.id
    return chosen


def select_layer(layer_id: str) -> None:
    st.session_state[LAYER_KEY] = layer_id


def layer_picker(model: CurrentModel, label: str) -> Layer | None:
    """A selectbox of the model's layers bound to `layer_id` (ids are shown as plain text)."""
    layer = current_layer(model)
    if layer is None:
        return None
    ids = [x.id for x in model.layers]
    choice = st.selectbox(label, ids, index=ids.index(layer.id), format_func=lambda i: f"{ids.index(i)}: {i}")
    if choice != layer.id:
        select_layer(choice)
        layer = model.layers[ids.index(choice)]
    return layer


def on_map_select(widget_key: str) -> None:
    """Model map click (plotly on_select callback): select the layer and ask the page to open it."""
    points = st.session_state[widget_key].selection.points
    if not points:
        return
    layers = current_model().layers
    position = int(points[0].get("customdata", points[0].get("point_index", 0)))
    if 0 <= position < len(layers):
        select_layer(layers[position].id)
        st.session_state["model_goto_layer"] = True


def goto_layer_requested() -> bool:
    return bool(st.session_state.pop("model_goto_layer", False))
