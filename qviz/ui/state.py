"""Session-state keys, the current config and the URL: the state every page shares.

Session-state keys:
    model_source    {"kind": "sample", "id": id} | {"kind": "upload", "sha256": hex, "name": file name}
    model_upload    {"sha256", "name", "data": bytes} of the accepted upload (this session only)
    model_data      {"model_sha256", "sha256", "name", "data": InputData, "note"} of accepted inputs (an
                    .npz; images or text read in a worker, "note" saying how; sha256 covers the options)
    model_config    the current ModelConfig as canonical JSON (default PRESETS["w8a8"])
    layer_id        the selected layer id (validated against the current model's layers)

A bundled sample and its config are mirrored into the URL (?sample=<id>&config=<code>), so
a link reopens them; an uploaded model is never in the URL.

# NOTE: Streamlit forgets the state of a widget that was not drawn in a run (a page not
# shown, a control hidden by another choice). keep_state() re-assigns the keys at the top of
# every run, which makes them plain session values that survive (Streamlit's documented trick).
"""

from __future__ import annotations

import dataclasses
import functools

import streamlit as st

from qviz.config import PRESETS, ModelConfig
from qviz.config.url import config_code, config_from_code
from qviz.lessons import DEFAULTS
from qviz.quant import QuantSpec, SpecError
from qviz.samples import DEFAULT_SAMPLE, sample_ids
from qviz.ui.learn import learn_key

MODEL_KEY = "model_source"
UPLOAD_KEY = "model_upload"
DATA_KEY = "model_data"
CONFIG_KEY = "model_config"
LAYER_KEY = "layer_id"
UPLOAD_SEEN_KEY = "model_upload_seen"
PENDING_KEY = "model_upload_pending"  # a model that passed its checks, waiting for its own inputs
URL_READ_KEY = "model_url_read"
DEFAULT_PRESET = "w8a8"
KEPT_WIDGET_KEYS = ("model_map_quantity", "layer_log_y")  # view choices that survive a page switch
MODEL_STATE_KEYS = (MODEL_KEY, UPLOAD_KEY, DATA_KEY, CONFIG_KEY, LAYER_KEY, UPLOAD_SEEN_KEY, URL_READ_KEY, PENDING_KEY)


def keep_state() -> None:
    """Re-assign the pages' setting keys, so widgets not drawn in this run keep their values."""
    for key in [*map(learn_key, DEFAULTS), *KEPT_WIDGET_KEYS]:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def init_model_state() -> None:
    """Defaults: the default sample, the w8a8 preset; then the URL's sample/config (once per session)."""
    st.session_state.setdefault(MODEL_KEY, {"kind": "sample", "id": DEFAULT_SAMPLE})
    st.session_state.setdefault(CONFIG_KEY, PRESETS[DEFAULT_PRESET].to_json())
    if not st.session_state.get(URL_READ_KEY):
        st.session_state[URL_READ_KEY] = True
        read_url_state()


def select_sample(sample_id: str) -> None:
    """Make a bundled sample the current model (the config and selected layer are kept if valid)."""
    st.session_state[MODEL_KEY] = {"kind": "sample", "id": sample_id}


@functools.lru_cache(maxsize=64)
def parse_config(text: str) -> ModelConfig:
    return ModelConfig.from_json(text)


def current_config() -> ModelConfig:
    init_model_state()
    return parse_config(st.session_state[CONFIG_KEY])


def config_json() -> str:
    return current_config().to_json()


def set_config(config: ModelConfig) -> None:
    st.session_state[CONFIG_KEY] = config.to_json()


def set_layer_weights(layer_id: str, weights: QuantSpec | None) -> None:
    """Write the layer's weights spec into the current config (an override of that layer)."""
    config = current_config()
    layer_config = dataclasses.replace(config.for_layer(layer_id), weights=weights)
    set_config(config.with_layer(layer_id, layer_config))


def reset_layer(layer_id: str) -> None:
    set_config(current_config().with_layer(layer_id, None))


def apply_preset(name: str) -> None:
    set_config(PRESETS[name])


def read_url_state() -> None:
    """?sample=<id>&config=<code> -> the current model and config; a bad code is a warning, not a crash."""
    params = st.query_params
    if params.get("sample") in sample_ids():
        select_sample(params["sample"])
    if "config" in params:
        try:
            set_config(config_from_code(params["config"]))
        except SpecError as error:
            st.session_state["model_url_error"] = str(error)


def write_url_state() -> None:
    """Mirror a bundled sample and its config into the URL; an uploaded model clears them."""
    source = st.session_state.get(MODEL_KEY)
    if not source:
        return
    if source.get("kind") == "sample":
        code = config_code(current_config())
        if st.query_params.get("sample") != source["id"] or st.query_params.get("config") != code:
            st.query_params.update({"sample": source["id"], "config": code})
    else:
        for key in ("sample", "config"):
            if key in st.query_params:
                del st.query_params[key]


def url_error() -> str | None:
    return st.session_state.pop("model_url_error", None)
