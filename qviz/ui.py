"""The one Streamlit glue module: language, translation, session-state keys, cached helpers.

Pages import `t` and the helpers from here; nothing below qviz.ui imports streamlit.

Session-state keys:
    lang                    "en" | "zh" (the sidebar language switch)
    learn_<setting>         one per key of qviz.lessons.DEFAULTS (the Learn page's widgets)
    learn_example           (example key, "settings" | "compare") of the replayed example, or None
    model_source            {"kind": "sample", "id": id} | {"kind": "upload", "sha256": hex, "name": file name}
    model_upload            {"sha256", "name", "data": bytes} of the accepted upload (this session only)
    model_data              {"model_sha256", "sha256", "name", "data": InputData} of accepted .npz inputs
    model_config            the current ModelConfig as canonical JSON (default PRESETS["w8a8"])
    layer_id                the selected layer id (validated against the current model's layers)
    (see "the current model" below; caches of user data are keyed by full SHA-256 hashes)

# NOTE: Streamlit forgets the state of a widget that was not drawn in a run (a page not
# shown, a control hidden by another choice). keep_state() re-assigns the keys at the top of
# every run, which makes them plain session values that survive (Streamlit's documented trick).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from dataclasses import dataclass

import streamlit as st

from . import i18n
from .config import PRESETS, ModelConfig
from .inspect_layer import inspect_activation, inspect_group, inspect_weights
from .model import Layer, LoadedModel, ModelError, load_model, weight_stats
from .model.deploy import deploy, deployable
from .model.export import describe_spec, layers_csv, to_ort_overrides
from .model.resolve import LayerSpecs, resolve_layer, resolve_layer_specs
from .model.calibrate import calibration_feeds
from .model.simulate import Simulator
from .model_data import InputData, read_inputs_npz
from .model_map import model_map_table, weight_sqnr
from .plots import (channel_range_figure, clip_round_figure, code_usage_figure, error_map_figure, estimator_figure,
                    histogram_figure, model_map_figure)
from .quant import QuantSpec, SpecError
from .report import render_report
from .samples import DEFAULT_SAMPLE, Sample, SampleInfo, list_samples, load_sample, sample_ids
from .upload import preflight_inputs, preflight_model
from .url_state import config_code, config_from_code
from .worker import WorkerError
from .lessons import DEFAULTS, EXAMPLES_BY_KEY, explain_value, run_lesson, spec_from_settings, tensor_from_settings

LANG_KEY = "lang"
LEARN_PREFIX = "learn_"
EXAMPLE_KEY = "learn_example"


def lang() -> str:
    return st.session_state.get(LANG_KEY, i18n.DEFAULT_LANGUAGE)


def t(key: str, **fmt) -> str:
    """Translated text for the current language (see qviz.i18n.translate)."""
    return i18n.translate(key, lang(), **fmt)


def option_labels(prefix: str):
    """format_func for a widget's options: value -> t(prefix + value), in the language of this run.

    # NOTE: the language is bound now, not looked up when called: AppTest calls format_func
    # outside the script run, where session state reads as empty (it would format in English).
    """
    current = lang()
    return lambda value: i18n.translate(f"{prefix}{value}", current)


def language_switch() -> None:
    """Sidebar selectbox English / 简体中文, stored in session state under `lang`."""
    st.session_state.setdefault(LANG_KEY, i18n.DEFAULT_LANGUAGE)
    st.sidebar.selectbox("Language / 语言", options=list(i18n.LANGUAGES), format_func=i18n.LANGUAGES.get,
                         key=LANG_KEY)


def keep_state() -> None:
    """Re-assign the pages' setting keys, so widgets not drawn in this run keep their values."""
    for key in [*map(learn_key, DEFAULTS), *KEPT_WIDGET_KEYS]:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


# --- the Learn page's state -------------------------------------------------------------

def learn_key(name: str) -> str:
    return LEARN_PREFIX + name


def init_learn_state() -> None:
    """Fill missing Learn keys with the defaults (widgets then read their value from here)."""
    for name, value in DEFAULTS.items():
        st.session_state.setdefault(learn_key(name), value)
    st.session_state.setdefault(EXAMPLE_KEY, None)


def learn_settings() -> dict:
    return {name: st.session_state[learn_key(name)] for name in DEFAULTS}


def replay_example(key: str, variant: str) -> None:
    """Button callback: defaults, then the example's settings (and its comparison change)."""
    example = EXAMPLES_BY_KEY[key]
    settings = {**DEFAULTS, **example.settings, **(example.compare if variant == "compare" else {})}
    for name, value in settings.items():
        st.session_state[learn_key(name)] = value
    st.session_state[EXAMPLE_KEY] = (key, variant)


def forget_example() -> None:
    """Widget on_change callback: the settings no longer are the replayed example's."""
    st.session_state[EXAMPLE_KEY] = None


# --- cached computations (keyed by the settings as canonical JSON) -------------------------

def settings_key(settings: dict) -> str:
    return json.dumps(settings, sort_keys=True)


@st.cache_data(max_entries=64, show_spinner=False)
def _lesson(settings_json: str):
    return run_lesson(json.loads(settings_json))


@st.cache_data(max_entries=256, show_spinner=False)
def _explanation(settings_json: str, value: float):
    settings = json.loads(settings_json)
    return explain_value(value, tensor_from_settings(settings), spec_from_settings(settings))


def cached_lesson(settings: dict):
    """run_lesson(settings), cached; the explained value is not part of the key."""
    return _lesson(settings_key({**settings, "value": None}))


def cached_explanation(settings: dict):
    return _explanation(settings_key({**settings, "value": None}), float(settings["value"]))


# --- the current model, config and layer (Model, Layer, Export and later pages) --------------
#
# A model is identified by the SHA-256 of its FULL bytes; every cache below is keyed by that
# hash (and by the config's canonical JSON), never by a name a user typed: Streamlit caches
# are shared by all users. Arguments starting with "_" are not hashed by Streamlit.

MODEL_KEY = "model_source"
UPLOAD_KEY = "model_upload"
DATA_KEY = "model_data"
CONFIG_KEY = "model_config"
LAYER_KEY = "layer_id"
UPLOAD_SEEN_KEY = "model_upload_seen"
URL_READ_KEY = "model_url_read"
DEFAULT_PRESET = "w8a8"
KEPT_WIDGET_KEYS = ("model_map_quantity", "layer_log_y")  # view choices that survive a page switch
MODEL_STATE_KEYS = (MODEL_KEY, UPLOAD_KEY, DATA_KEY, CONFIG_KEY, LAYER_KEY, UPLOAD_SEEN_KEY, URL_READ_KEY)


@dataclass(frozen=True, eq=False)
class CurrentModel:
    """The model the pages work on. `name` is plain text (a file name may hold anything)."""

    sha256: str
    name: str
    sample_id: str | None
    loaded: LoadedModel
    simulator: Simulator
    data_key: str               # what the calibration data is: "sample:<id>", the .npz hash, or "generated"
    labels: object              # test labels (sample) / npz y, or None

    @property
    def layers(self) -> list[Layer]:
        return self.simulator.layers


@st.cache_resource(max_entries=8, show_spinner=False)
def _sample(sample_id: str) -> Sample:
    return load_sample(sample_id)


# NOTE: up to 8 models (200 MiB each at most) stay loaded for all sessions; keyed by content hash.
@st.cache_resource(max_entries=8, show_spinner=False)
def _loaded(sha256: str, _data: bytes) -> LoadedModel:
    return load_model(_data)


# NOTE: a failed pre-flight raises, and Streamlit does not cache exceptions: only passes are kept.
@st.cache_resource(max_entries=32, show_spinner=False)
def _preflighted(sha256: str, _data: bytes) -> dict:
    return preflight_model(_data)


def load_upload(data: bytes) -> LoadedModel:
    """THE entry point for user-uploaded model bytes (ModelError, SpecError or WorkerError if
    unsafe, invalid, or it fails its pre-flight in a worker: qviz.upload). Only bytes that
    passed are parsed in this process. Cached by the SHA-256 of the full bytes.
    """
    sha = hashlib.sha256(data).hexdigest()
    _preflighted(sha, data)
    return _loaded(sha, data)


@st.cache_resource(max_entries=8, show_spinner=False)
def _simulator(model_sha: str, data_key: str, _loaded_model: LoadedModel, _calib) -> Simulator:
    return Simulator(_loaded_model, _calib)


def sample_choices() -> list[SampleInfo]:
    return list_samples()


def init_model_state() -> None:
    """Defaults: the default sample, the w8a8 preset; then the URL's sample/config (once per session)."""
    st.session_state.setdefault(MODEL_KEY, {"kind": "sample", "id": DEFAULT_SAMPLE})
    st.session_state.setdefault(CONFIG_KEY, PRESETS[DEFAULT_PRESET].to_json())
    if not st.session_state.get(URL_READ_KEY):
        st.session_state[URL_READ_KEY] = True
        read_url_state()


def current_model() -> CurrentModel:
    """The current model (loaded, with its cached Simulator); falls back to the default sample."""
    init_model_state()
    source = st.session_state[MODEL_KEY]
    upload = st.session_state.get(UPLOAD_KEY)
    if source.get("kind") == "upload" and upload and upload["sha256"] == source.get("sha256"):
        return _upload_model(upload)
    sample_id = source.get("id") if source.get("id") in sample_ids() else DEFAULT_SAMPLE
    sample = _sample(sample_id)
    loaded = _loaded(hashlib.sha256(sample.model_bytes).hexdigest(), sample.model_bytes)
    sim = _simulator(loaded.sha256, f"sample:{sample_id}", loaded, sample.calibration.x)
    return CurrentModel(loaded.sha256, sample.card["title"], sample_id, loaded, sim, f"sample:{sample_id}", sample.test.y)


def _upload_model(upload: dict) -> CurrentModel:
    loaded = _loaded(upload["sha256"], upload["data"])  # passed its pre-flight in accept_upload
    data = st.session_state.get(DATA_KEY)
    if data and data["model_sha256"] == loaded.sha256:
        key, calib, labels = data["sha256"], data["data"].x, data["data"].y
    else:
        key, calib, labels = "generated", None, None
    sim = _simulator(loaded.sha256, key, loaded, calib)
    return CurrentModel(loaded.sha256, upload["name"], None, loaded, sim, key, labels)


def select_sample(sample_id: str) -> None:
    """Make a bundled sample the current model (the config and selected layer are kept if valid)."""
    st.session_state[MODEL_KEY] = {"kind": "sample", "id": sample_id}


def accept_upload(name: str, data: bytes) -> LoadedModel:
    """Load uploaded bytes (ModelError if bad) and make them the current model."""
    loaded = load_upload(data)
    st.session_state[UPLOAD_KEY] = {"sha256": loaded.sha256, "name": name, "data": data}
    st.session_state[MODEL_KEY] = {"kind": "upload", "sha256": loaded.sha256, "name": name}
    st.session_state.pop(DATA_KEY, None)
    return loaded


def accept_inputs(name: str, data: bytes, model: CurrentModel) -> InputData:
    """Validate an .npz of inputs/labels for the current model (SpecError if bad), run its first
    batch in a worker (ModelError / WorkerError if that fails) and keep it."""
    parsed = read_inputs_npz(data, model.loaded.inputs)
    feeds = calibration_feeds(model.loaded.model, parsed.x)
    if feeds:  # the first batch runs in a worker first (qviz.upload)
        preflight_inputs(model.loaded.model_bytes, feeds[0])
    st.session_state[DATA_KEY] = {"model_sha256": model.sha256, "sha256": hashlib.sha256(data).hexdigest(),
                                  "name": name, "data": parsed}
    return parsed


# --- the config ------------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _parse_config(text: str) -> ModelConfig:
    return ModelConfig.from_json(text)


def current_config() -> ModelConfig:
    init_model_state()
    return _parse_config(st.session_state[CONFIG_KEY])


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


# --- the selected layer ----------------------------------------------------------------------

def current_layer(model: CurrentModel) -> Layer | None:
    """The selected layer; the first one when nothing (or an id of another model) is selected."""
    by_id = {x.id: x for x in model.layers}
    chosen = by_id.get(st.session_state.get(LAYER_KEY))
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


# --- the URL (a bundled sample's config can be shared by link) --------------------------------

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


# --- cached computations on the current model ---------------------------------------------------

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
    specs = resolve_layer_specs(_model.layers, _parse_config(config_text))
    sqnr = {x.id: _weight_sqnr(model_sha, x.weight_name, _spec_json(specs[x.id].weights), _model)
            for x in _model.layers if specs[x.id].weights is not None}
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
    """Histogram of the layer's input on the calibration data (the Simulator's collected tensors)."""
    if not layer.inputs:
        return None
    return _activation_view(model.sha256, model.data_key, layer.inputs[0], _spec_json(spec), model)


# --- exports (computed on click, cached by model hash + data + config JSON) ----------------------

@st.cache_data(max_entries=8, show_spinner=False)
def _deployed(model_sha: str, data_key: str, config_text: str, _model: CurrentModel) -> bytes:
    return deploy(_model.loaded, _parse_config(config_text), simulator=_model.simulator)


@st.cache_data(max_entries=8, show_spinner=False)
def _simulated(model_sha: str, data_key: str, config_text: str, _model: CurrentModel) -> bytes:
    return _model.simulator.simulate(_parse_config(config_text))


def deployable_problems(model: CurrentModel) -> list[str]:
    return deployable(current_config(), model.layers, model.loaded.weights)


def deployed_bytes(model: CurrentModel) -> bytes:
    """The deployable ONNX of the current config (SpecError if some layer has no native form)."""
    return _deployed(model.sha256, model.data_key, config_json(), model)


def simulated_bytes(model: CurrentModel) -> bytes:
    return _simulated(model.sha256, model.data_key, config_json(), model)


def ort_overrides_json(model: CurrentModel) -> str:
    return json.dumps(to_ort_overrides(model.loaded, current_config(), layers=model.layers), indent=2, sort_keys=True)


def layers_csv_text(model: CurrentModel) -> str:
    return layers_csv(model.loaded, current_config(), layers=model.layers)


def config_download(model: CurrentModel) -> str:
    return json.dumps(current_config().to_dict(), indent=2, sort_keys=True)


# --- uploads on the Model page -------------------------------------------------------------------

def md_escape(text: str) -> str:
    """Backslash-escape Markdown (and LaTeX $) in model-provided text shown inside st.error/st.info."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])", r"\\\1", str(text))


def _seen(slot: str, data: bytes, handle) -> str | None:
    """Run handle() once per distinct file in an uploader slot; remember and return its error text."""
    seen = st.session_state.setdefault(UPLOAD_SEEN_KEY, {})
    digest = hashlib.sha256(data).hexdigest()
    if slot in seen and seen[slot][0] == digest:
        return seen[slot][1]
    try:
        handle()
        error = None
    except (ModelError, SpecError, WorkerError) as e:
        if isinstance(e, WorkerError) and e.kind == "busy":
            return str(e)  # not remembered: the next run tries again
        error = str(e)
    seen[slot] = (digest, error)
    return error


def handle_model_upload(name: str, data: bytes) -> str | None:
    """Accept an uploaded .onnx as the current model; the error message (plain text) or None."""
    return _seen("onnx", data, lambda: accept_upload(name, data))


def handle_inputs_upload(name: str, data: bytes, model: CurrentModel) -> str | None:
    """Accept an uploaded .npz of inputs/labels for the current model; the error message or None."""
    return _seen("npz:" + model.sha256, data, lambda: accept_inputs(name, data, model))


def show_current_sample(widget_key: str, model: CurrentModel) -> None:
    """Point the sample selectbox at the current model (None for an upload) before it is drawn."""
    st.session_state[widget_key] = model.sample_id


def on_sample_change(widget_key: str) -> None:
    select_sample(st.session_state[widget_key])


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


# --- the Layer page's spec editor -----------------------------------------------------------------

EDIT_FIELDS = ("quantize", "scheme", "bits", "float_format", "symmetric", "granularity", "group_size",
               "estimator", "percentile", "rounding")


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
    changes = {f: values[f] for f in EDIT_FIELDS[1:] if values[f] is not None}
    try:
        spec = base.replace(**changes)
    except SpecError as error:
        st.session_state["layer_edit_error"] = str(error)
        return
    set_layer_weights(layer_id, spec)


def edit_error() -> str | None:
    return st.session_state.pop("layer_edit_error", None)


# --- figures with translated labels (shared by the pages and the HTML report) ---------------------

def model_map_fig(model: CurrentModel, quantity: str):
    df = model_map(model)
    labels = {"title": t("map_title"), "x": t("map_x"), "y": t(f"qty_{quantity}")}
    return model_map_figure(df["id"].tolist(), df["op_type"].tolist(), df[quantity].tolist(), labels,
                            log_y=quantity in ("param_share", "channel_spread"))


def weight_histogram_fig(view, log_y: bool = False, title: str | None = None):
    """Histogram of a WeightView (whole tensor) or a GroupView (one channel/group; pass its title)."""
    labels = {"title": title or t("lw_hist_title"), "x": t("hist_x"), "y": t("hist_y"), "values": t("hist_values"),
              "levels": t("hist_levels"), "clip": t("hist_clip")}
    fig = histogram_figure(view.counts, view.edges, view.levels, view.thresholds, labels)
    return fig.update_yaxes(type="log") if log_y else fig


def layer_histogram_fig(model: CurrentModel, layer: Layer, view, index: int | None = None, log_y: bool = False):
    """Per-tensor: the whole tensor; per-channel/group: group `index` (default the widest) with its own grid."""
    if view.spec.granularity == "tensor":
        return weight_histogram_fig(view, log_y)
    group = group_view(model, layer, view.spec, view.widest if index is None else index)
    return weight_histogram_fig(group, log_y, t(f"lw_hist_title_{view.spec.granularity}", c=group.index))


def channel_fig(view):
    labels = {"title": t("lw_channels_title"), "x": t("lw_channels_x"), "y": t("hist_x"),
              "range": t("lw_channels_range"), "outlier": t("lw_channels_outlier"), "clip": t("hist_clip")}
    return channel_range_figure(view.channels, labels)


def error_map_fig(view):
    labels = {"title": t(f"lw_map_title_{view.map_kind}"), "x": t(f"lw_map_x_{view.map_kind}"),
              "y": t(f"lw_map_y_{view.map_kind}"), "colorbar": t("lw_map_colorbar")}
    return error_map_figure(view.error_map, labels, square=view.map_kind == "kernels")


def split_fig(view):
    thresholds, clip, rnd, chosen = view.split
    labels = {"title": t("split_title"), "x": t("split_x"), "y": t("split_y"), "clip": t("split_clip"),
              "round": t("split_round"), "total": t("split_total"), "chosen": t("split_chosen")}
    return clip_round_figure(thresholds, clip, rnd, chosen, labels)


def estimator_fig(view):
    labels = {"title": t("lw_est_title"), "x": t("estimator"), "y": t("sqnr_y")}
    labels |= {"name_" + n: t(f"est_{n}") for n in view.estimators["estimator"]}
    return estimator_figure(view.estimators, view.spec.estimator, labels)


def codes_fig(view):
    labels = {"title": t("lw_codes_title"), "x": t("col_q"), "y": t("hist_y")}
    return code_usage_figure(view.codes, labels)


def activation_fig(act, log_y: bool = False):
    labels = {"title": t("lw_act_title"), "x": t("hist_x"), "y": t("hist_y"), "values": t("hist_values"),
              "levels": t("hist_levels"), "clip": t("hist_clip")}
    fig = histogram_figure(act.counts, act.edges, act.levels, act.thresholds, labels)
    return fig.update_yaxes(type="log") if log_y else fig


# --- the HTML report ------------------------------------------------------------------------------

@st.cache_data(max_entries=8, show_spinner=False)
def _report(model_sha: str, data_key: str, config_text: str, layer_id: str, lang_code: str, _model: CurrentModel) -> str:
    return build_report(_model)


def report_html(model: CurrentModel) -> str:
    """The self-contained HTML report of the current model, config and selected layer (cached)."""
    layer = current_layer(model)
    return _report(model.sha256, model.data_key, config_json(), layer.id if layer else "", lang(), model)


def build_report(model: CurrentModel) -> str:
    df = model_map(model)
    config = current_config()
    summary = {t("rep_model"): model.name, t("sum_layers"): len(model.layers),
               t("sum_params"): f"{model.loaded.param_count:,}", t("sum_size"): f"{model.loaded.file_size / 1024:.1f} KiB",
               t("rep_config"): config_code(config) if len(config_code(config)) < 40 else t("rep_custom")}
    figures = [(t("map_title") + " — " + t("qty_weight_sqnr_db"), model_map_fig(model, "weight_sqnr_db")),
               (t("map_title") + " — " + t("qty_bits"), model_map_fig(model, "bits"))]
    layer = current_layer(model)
    specs = layer_specs(model, layer) if layer else None
    if specs is not None and specs.weights is not None:
        view = weight_view(model, layer, specs.weights)
        figures += [(t("rep_layer", layer=layer.id), layer_histogram_fig(model, layer, view)), ("", channel_fig(view)),
                    ("", error_map_fig(view))]
    problems = deployable_problems(model)
    tables = [(t("map_table"), df[["position", "id", "op_type", "shape", "params", "weights", "activations",
                                   "weight_sqnr_db", "channel_spread", "note"]]),
              (t("exp_problems"), {"problem": problems or [t("exp_no_problems")]})]
    return render_report(t("rep_title"), summary, figures, tables, config.to_dict())


# --- small tables and labels for the Model page ---------------------------------------------------

def io_table(loaded: LoadedModel) -> dict:
    """Inputs and outputs as a table (names are model strings: shown in a dataframe, as plain text)."""
    rows = [(t("mp_input"), x) for x in loaded.inputs] + [(t("mp_output"), x) for x in loaded.outputs]
    return {t("mp_col_kind"): [k for k, _ in rows], t("mp_col_name"): [x.name for _, x in rows],
            t("mp_col_dtype"): [x.dtype for _, x in rows],
            t("mp_col_shape"): ["?" if x.shape is None else " x ".join(map(str, x.shape)) for _, x in rows]}


def ops_table(loaded: LoadedModel) -> dict:
    ops = sorted(loaded.op_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return {t("mp_col_op"): [k for k, _ in ops], t("mp_col_count"): [v for _, v in ops]}


def data_kind(model: CurrentModel) -> str:
    """"sample" | "npz" | "generated": where the calibration data comes from."""
    if model.sample_id is not None:
        return "sample"
    return "generated" if model.data_key == "generated" else "npz"


def calibration_rows(model: CurrentModel) -> int:
    calib = model.simulator.calib
    if calib is None:
        return 0
    return len(calib) if not isinstance(calib, dict) else len(next(iter(calib.values())))


def config_label() -> str:
    """The preset's name when the config is one, else "custom (N layer overrides)"."""
    config = current_config()
    code = config_code(config)
    return code if code in PRESETS else t("mp_custom_config", n=len(config.layers))


def map_column_labels() -> dict:
    names = ("position", "id", "op_type", "shape", "params", "weights", "activations", "weight_sqnr_db",
             "channel_spread", "note")
    return {name: t(f"col_{name}") for name in names}


# --- small tables and labels for the Layer page ---------------------------------------------------

def spec_label(spec: QuantSpec | None) -> str:
    return describe_spec(spec) if spec is not None else t("lp_float")


def estimator_table(view) -> dict:
    e = view.estimators
    return {t("estimator"): [t(f"est_{n}") for n in e["estimator"]], t("lp_col_lo"): e["lo"], t("lp_col_hi"): e["hi"],
            t("metric_mse"): e["mse"], t("sqnr_y"): e["sqnr_db"], t("metric_clipped"): e["clipped"]}


def param_rows(view) -> dict:
    p = view.params
    return {t("lp_col_group"): p["group"], t("metric_scale"): p["scale"], t("metric_zero_point"): p["zero_point"]}


# --- the Export page --------------------------------------------------------------------------------

ORT_SNIPPET = '''import numpy as np
import onnxruntime as ort

session = ort.InferenceSession("{file}", providers=["CPUExecutionProvider"])
name = session.get_inputs()[0].name
x = np.load("inputs.npz")["x"].astype(np.float32)      # your inputs, shaped as the model expects
logits = session.run(None, {{name: x}})[0]
print(logits.argmax(axis=1))
'''


def _built_key(kind: str, model: CurrentModel) -> str:
    return f"{kind}:{model.sha256}:{model.data_key}:{hashlib.sha256(config_json().encode()).hexdigest()}:{lang()}"


def mark_built(kind: str, model: CurrentModel) -> None:
    st.session_state.setdefault("export_built", set()).add(_built_key(kind, model))


def is_built(kind: str, model: CurrentModel) -> bool:
    return _built_key(kind, model) in st.session_state.get("export_built", set())


def export_name(model: CurrentModel, suffix: str) -> str:
    """A safe file name: the sample id, else 'model' (an uploaded file's name is not reused)."""
    return f"{model.sample_id or 'model'}_{suffix}"


# --- Tune / Sensitivity / Trade-offs ------------------------------------------------------------------
#
# Session-state keys:
#   tune_history      [history_entry dicts] of every config evaluated in this session (qviz.tuning)
#   tune_selected     layer ids ticked in the Tune table's "sel" column
#   tune_error        the last table / bulk edit error (plain text), shown once
#   sens_sweep        {"key", "layers", "candidates", "records", "status": running|stopped|done}
#   sens_search       {content key: SearchResult} of this session's searches
# One Runner (Simulator + evaluation data + onnxruntime sessions) per (model hash, data) is
# shared by all sessions (st.cache_resource) behind a lock: its session caches are not thread-safe.

import threading  # noqa: E402

from . import tuning  # noqa: E402
from .evaluate import (Budget, EvalData, Evaluation, candidates_from_bits, config_latency, evaluate,  # noqa: E402
                       from_arrays, from_sample, generated, layer_errors, search, sweep)
from .plots.sensitivity import sensitivity_heatmap  # noqa: E402
from .plots.tradeoffs import tradeoff_figure  # noqa: E402
from .plots.tune import layer_error_figure  # noqa: E402

HISTORY_KEY = "tune_history"
SELECTED_KEY = "tune_selected"
TUNE_ERROR_KEY = "tune_error"
SWEEP_KEY = "sens_sweep"
SEARCH_KEY = "sens_search"
LATENCY_RUNS = 20


def eval_data(model: CurrentModel) -> EvalData:
    """The data configs are scored on: a sample's test split, the uploaded .npz, else generated inputs."""
    if model.sample_id is not None:
        return from_sample(_sample(model.sample_id), "test")
    data = st.session_state.get(DATA_KEY)
    if data and data["model_sha256"] == model.sha256:
        return from_arrays(model.loaded, data["data"].x, data["data"].y, source="npz")
    return generated(model.loaded)


@st.cache_resource(max_entries=8, show_spinner=False)
def _runner(model_sha: str, data_key: str, _model: CurrentModel):
    from .evaluate import make_runner
    return make_runner(_model.simulator, eval_data(_model)), threading.Lock()


def runner(model: CurrentModel):
    """(Runner, lock) of the model and its evaluation data (shared, cached by model hash + data)."""
    return _runner(model.sha256, model.data_key, model)


@st.cache_data(max_entries=256, show_spinner=False)
def _evaluation(model_sha: str, data_key: str, config_text: str, _model: CurrentModel) -> Evaluation:
    run, lock = runner(_model)
    with lock:
        return evaluate(run, _parse_config(config_text))


def evaluation(model: CurrentModel, config: ModelConfig | None = None) -> Evaluation:
    """qviz.evaluate.evaluate of `config` (default: the current one), cached by model hash + data + config JSON."""
    return _evaluation(model.sha256, model.data_key, (config or current_config()).to_json(), model)


@st.cache_data(max_entries=128, show_spinner=False)
def _layer_errors(model_sha: str, data_key: str, config_text: str, _model: CurrentModel):
    run, lock = runner(_model)
    with lock:
        return layer_errors(run, _parse_config(config_text))


def layer_error_table(model: CurrentModel, config: ModelConfig | None = None):
    """qviz.evaluate.layer_errors (local and propagated, first 32 samples), cached by content."""
    return _layer_errors(model.sha256, model.data_key, (config or current_config()).to_json(), model)


def headline_metric(model: CurrentModel) -> str:
    return tuning.metric_name(runner(model)[0].data.labels is not None)


def history() -> list:
    return st.session_state.setdefault(HISTORY_KEY, [])


def record(model: CurrentModel, ev: Evaluation, label: str | None = None) -> None:
    """Append an evaluated config to the session history (same config: replaced, not duplicated)."""
    entry = tuning.history_entry(model.sha256, label or config_label(), ev)
    st.session_state[HISTORY_KEY] = tuning.add_to_history(history(), entry)


def history_df(model: CurrentModel):
    return tuning.history_frame(history(), model.sha256)


# the Tune table ------------------------------------------------------------------------------------

def tune_table(model: CurrentModel):
    return tuning.config_table(model.layers, current_config(), st.session_state.get(SELECTED_KEY, []))


def tune_table_key(model: CurrentModel, config: ModelConfig | None = None) -> str:
    """The editor's widget key: changes with the model and config, so an applied edit shows a fresh table."""
    text = model.sha256 + (config or current_config()).to_json()
    return "tune_table_" + hashlib.sha256(text.encode()).hexdigest()[:12]


def apply_tune_edits(model: CurrentModel, key: str, table) -> bool:
    """Read the editor's edited_rows: keep the ticked rows, write config edits. True if the config changed."""
    edits = (st.session_state.get(key) or {}).get("edited_rows", {})
    st.session_state[SELECTED_KEY] = tuning.selected_rows(table, edits)
    try:
        new = tuning.apply_row_edits(current_config(), table, edits)
    except SpecError as error:
        st.session_state[TUNE_ERROR_KEY] = str(error)
        return False
    if new == current_config():
        return False
    set_config(new)
    return True


def bulk_targets(model: CurrentModel, target: str, op_type: str | None, pattern: str) -> list[str]:
    """Layer ids a bulk edit changes: target "selected" | "op" | "pattern"."""
    if target == "selected":
        return tuning.select_layers(model.layers, ids=set(st.session_state.get(SELECTED_KEY, [])))
    if target == "op":
        return tuning.select_layers(model.layers, op_type=op_type)
    return tuning.select_layers(model.layers, pattern=pattern) if pattern.strip() else []


def apply_bulk(model: CurrentModel, target: str, op_type: str | None, pattern: str, changes: dict) -> int:
    """Button callback: apply `changes` (table columns; None = keep) to the targets; how many layers."""
    ids = bulk_targets(model, target, op_type, pattern)
    changes = {k: v for k, v in changes.items() if v is not None}
    try:
        set_config(tuning.bulk_edit(current_config(), model.layers, ids, changes))
    except SpecError as error:
        st.session_state[TUNE_ERROR_KEY] = str(error)
    return len(ids)


def tune_error() -> str | None:
    return st.session_state.pop(TUNE_ERROR_KEY, None)


def layer_error_fig(df):
    labels = {"title": t("tn_err_title"), "x": t("map_x"), "y": t("sqnr_y"), "local": t("tn_local"),
              "propagated": t("tn_propagated")}
    return layer_error_figure(df["layer"].tolist(), df["local_sqnr_db"], df["propagated_sqnr_db"], labels)


# the Sensitivity sweep: one layer per step, stored in session state ----------------------------------
#
# NOTE: why no thread: the sweep runs in the script run, one layer (all its candidates) per
# step; after each step the records go into session state and the progress bar moves. A
# click on Stop makes Streamlit stop this run at its next st call (the progress update) and
# rerun: the stop callback marks the sweep stopped, and the layers done so far are kept.
# Each layer's cells are cached by content, so Resume / a repeated sweep costs nothing.

def sweep_candidates(bits, modes) -> list[str]:
    return list(candidates_from_bits(tuple(bits), tuple(modes)))


def start_sweep(model: CurrentModel, bits, modes, pattern: str, metric: str) -> None:
    """Button callback: a new sweep over the layers matching `pattern` (all when empty)."""
    ids = tuning.select_layers(model.layers, pattern=pattern or None)
    st.session_state[SWEEP_KEY] = {"model": model.sha256, "layers": ids, "bits": list(bits), "modes": list(modes),
                                   "candidates": sweep_candidates(bits, modes) if ids else [], "metric": metric,
                                   "records": [], "status": "running" if ids else "done"}


def stop_sweep() -> None:
    state = st.session_state.get(SWEEP_KEY)
    if state and state["status"] == "running":
        state["status"] = "stopped"


def resume_sweep() -> None:
    state = st.session_state.get(SWEEP_KEY)
    if state:
        state["status"] = "running"


def sweep_state(model: CurrentModel) -> dict | None:
    state = st.session_state.get(SWEEP_KEY)
    return state if state and state["model"] == model.sha256 else None


@st.cache_data(max_entries=1024, show_spinner=False)
def _sweep_layer(model_sha: str, data_key: str, layer_id: str, bits: tuple, modes: tuple, metric: str, _model: CurrentModel):
    run, lock = runner(_model)
    with lock:
        res = sweep(run, candidates=candidates_from_bits(bits, modes), metric=metric, layers=[layer_id])
    return res.records.to_dict("records"), res.metric


def sweep_step(model: CurrentModel, state: dict) -> bool:
    """Sweep the next layer not done yet; False when nothing is left."""
    done = {r["layer"] for r in state["records"]}
    todo = [x for x in state["layers"] if x not in done]
    if not todo:
        state["status"] = "done"
        return False
    recs, used = _sweep_layer(model.sha256, model.data_key, todo[0], tuple(state["bits"]), tuple(state["modes"]),
                              state["metric"], model)
    state["records"] = state["records"] + recs
    state["used_metric"] = used
    return True


def sweep_progress(state: dict) -> float:
    done = len({r["layer"] for r in state["records"]})
    return done / max(1, len(state["layers"]))


def sweep_table(state: dict):
    return tuning.sweep_matrix(state["records"], state["layers"], state["candidates"])


def sweep_fig(table, metric: str):
    labels = {"title": t("sn_heat_title"), "x": t("sn_candidate"), "y": t("sn_layer"),
              "colorbar": t("sn_damage", metric=metric)}
    return sensitivity_heatmap(table, labels)


def _search_key(model: CurrentModel, budget: Budget, bits, base: ModelConfig) -> str:
    return json.dumps([model.sha256, model.data_key, budget.kind, budget.value, list(bits), base.to_json()])


def search_result(model: CurrentModel, budget: Budget, bits, base: ModelConfig):
    """A search already run in this session with these inputs, or None."""
    return st.session_state.get(SEARCH_KEY, {}).get(_search_key(model, budget, bits, base))


def run_search(model: CurrentModel, budget: Budget, bits, base: ModelConfig, progress=None):
    """qviz.evaluate.search (weights candidates int<bits> per channel on top of `base`), kept per session."""
    from .evaluate import default_candidates
    run, lock = runner(model)
    with lock:
        res = search(run, None, budget, candidates=default_candidates(tuple(bits)), base=base, progress=progress)
    st.session_state.setdefault(SEARCH_KEY, {})[_search_key(model, budget, bits, base)] = res
    return res


def apply_search(model: CurrentModel, config_text: str) -> None:
    """Button callback: make the search's best config the current one (and record it in the history)."""
    config = _parse_config(config_text)
    set_config(config)
    record(model, evaluation(model, config), t("sn_search_label"))


# the Trade-offs page --------------------------------------------------------------------------------

def restore_config(config_text: str) -> None:
    set_config(_parse_config(config_text))


@st.cache_data(max_entries=256, show_spinner=False)
def _latency(model_sha: str, data_key: str, config_text: str, _model: CurrentModel):
    run, lock = runner(_model)
    with lock:
        lat = config_latency(run.sim, _parse_config(config_text), run.data.feeds[0], runs=LATENCY_RUNS)
    return float(lat.median_ms), lat.model


def measure_latency(model: CurrentModel, progress=None) -> None:
    """Measure (median of LATENCY_RUNS, one thread) every history entry of the model without a latency."""
    entries = history()
    todo = [i for i, h in enumerate(entries) if h["model"] == model.sha256 and h["latency_ms"] is None]
    for n, i in enumerate(todo):
        ms, kind = _latency(model.sha256, model.data_key, entries[i]["config"], model)
        entries[i] = {**entries[i], "latency_ms": ms, "latency_model": kind}
        if progress is not None:
            progress(n + 1, len(todo))
    st.session_state[HISTORY_KEY] = entries


def tradeoff_fig(df, metric: str, front):
    labels = {"title": t("to_title_fig"), "x": t("to_size_kib"), "y": t(f"to_metric_{metric}"), "points": t("to_points"),
              "front": t("to_front"), "latency": t("to_latency")}
    return tradeoff_figure(df, metric, front, labels)


def diff_table(model: CurrentModel, a_text: str, b_text: str):
    return tuning.config_diff(model.layers, _parse_config(a_text), _parse_config(b_text))
