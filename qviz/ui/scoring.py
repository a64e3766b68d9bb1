"""Scoring configs: one shared Runner per (model hash, data), cached evaluations, the history.

Session-state key:
    tune_history    [history_entry dicts] of every config evaluated in this session (qviz.evaluate.tuning)

One Runner (Simulator + evaluation data + onnxruntime sessions) per (model hash, data) is
shared by all sessions (st.cache_resource) behind a lock: its session caches are not thread-safe.
"""

from __future__ import annotations

import threading

import streamlit as st

from qviz.config import ModelConfig
from qviz.evaluate import (
    EvalData,
    Evaluation,
    evaluate,
    from_arrays,
    from_sample,
    generated,
    layer_errors,
    metric_names,
    tuning,
)
from qviz.ui.models import CurrentModel, cached_sample
from qviz.ui.state import DATA_KEY, current_config, parse_config
from qviz.ui.tables import config_label

HISTORY_KEY = "tune_history"


def eval_data(model: CurrentModel) -> EvalData:
    """The data configs are scored on: a sample's test split, the uploaded .npz, else generated inputs."""
    if model.sample_id is not None:
        return from_sample(cached_sample(model.sample_id), "test")
    data = st.session_state.get(DATA_KEY)
    if data and data["model_sha256"] == model.sha256:
        return from_arrays(model.loaded, data["data"].x, data["data"].y, source="npz")
    return generated(model.loaded)


@st.cache_resource(max_entries=8, show_spinner=False)
def _runner(model_sha: str, data_key: str, _model: CurrentModel):
    from qviz.evaluate import make_runner

    return make_runner(_model.simulator, eval_data(_model)), threading.Lock()


def runner(model: CurrentModel):
    """(Runner, lock) of the model and its evaluation data (shared, cached by model hash + data)."""
    return _runner(model.sha256, model.data_key, model)


@st.cache_data(max_entries=256, show_spinner=False)
def _evaluation(model_sha: str, data_key: str, config_text: str, _model: CurrentModel) -> Evaluation:
    run, lock = runner(_model)
    with lock:
        return evaluate(run, parse_config(config_text))


def evaluation(model: CurrentModel, config: ModelConfig | None = None) -> Evaluation:
    """qviz.evaluate.evaluate of `config` (default: the current one), cached by model hash + data + config JSON."""
    return _evaluation(model.sha256, model.data_key, (config or current_config()).to_json(), model)


@st.cache_data(max_entries=128, show_spinner=False)
def _layer_errors(model_sha: str, data_key: str, config_text: str, _model: CurrentModel):
    run, lock = runner(_model)
    with lock:
        return layer_errors(run, parse_config(config_text))


def layer_error_table(model: CurrentModel, config: ModelConfig | None = None):
    """qviz.evaluate.layer_errors (local and propagated, first 32 samples), cached by content."""
    return _layer_errors(model.sha256, model.data_key, (config or current_config()).to_json(), model)


def headline_metric(model: CurrentModel) -> str:
    return metric_names.headline_metric(runner(model)[0].data.labels is not None)


def history() -> list:
    return st.session_state.setdefault(HISTORY_KEY, [])


def record(model: CurrentModel, ev: Evaluation, label: str | None = None) -> None:
    """Append an evaluated config to the session history (same config: replaced, not duplicated)."""
    entry = tuning.history_entry(model.scope, label or config_label(), ev)
    st.session_state[HISTORY_KEY] = tuning.add_to_history(history(), entry)


def history_df(model: CurrentModel):
    return tuning.history_frame(history(), model.scope)
