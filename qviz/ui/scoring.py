"""Scoring configs: one shared Runner per (model hash, data), cached evaluations, the history.

Session-state keys:
    tune_history    [history_entry dicts] of every config evaluated in this session (qviz.evaluate.tuning)
    output_kind     how outputs are compared: "auto" or an override ("classes:1:logits", qviz.evaluate.output_kind)

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
from qviz.evaluate.layer_error import MAX_SAMPLES
from qviz.evaluate.output_kind import OutputKind, decide_all
from qviz.evaluate.session_cache import memory_budget_for
from qviz.model.load.data_files import data_kind
from qviz.ui.models import CurrentModel, cached_sample
from qviz.ui.state import DATA_KEY, current_config, parse_config
from qviz.ui.tables import config_label
from qviz.ui.text import md_escape, t
from qviz.worker.host import ModelHost

HISTORY_KEY = "tune_history"
OUTPUT_KIND_KEY = "output_kind"
LAYER_ERRORS_AT_ONCE_MACS = 10**10  # per pass: about 0.15 s on one core here


def eval_data(model: CurrentModel) -> EvalData:
    """The data configs are scored on: a sample's test split, the uploaded data file (its kind: npz, images or
    text), else generated inputs."""
    if model.sample_id is not None:
        return from_sample(cached_sample(model.sample_id), "test")
    data = st.session_state.get(DATA_KEY)
    if data and data["model_sha256"] == model.sha256:
        return from_arrays(model.loaded, data["data"].x, data["data"].y, source=data_kind(data["name"]))
    return generated(model.loaded)


def memory_budget(model: CurrentModel) -> int | None:
    """How much of the model's tensors a Runner keeps: for an upload, a share of its worker's memory
    limit (qviz.evaluate.session_cache.memory_budget_for), so a sweep cannot outgrow the worker;
    None (the default, 1 GiB) for a sample, which runs in this process."""
    executor = model.loaded.executor
    return memory_budget_for(executor.limits.memory_bytes) if isinstance(executor, ModelHost) else None


@st.cache_resource(max_entries=8, show_spinner=False)
def _runner(model_sha: str, data_key: str, _model: CurrentModel):
    from qviz.evaluate import make_runner

    return make_runner(_model.simulator, eval_data(_model), memory_budget_bytes=memory_budget(_model)), threading.Lock()


def runner(model: CurrentModel):
    """(Runner, lock) of the model and its evaluation data (shared, cached by model hash + data)."""
    return _runner(model.sha256, model.data_key, model)


@st.cache_data(max_entries=256, show_spinner=False)
def _evaluation(model_sha: str, data_key: str, config_text: str, output_kind: str | None, _model: CurrentModel):
    run, lock = runner(_model)
    with lock:
        return evaluate(run, parse_config(config_text), output_kind=output_kind)


def evaluation(model: CurrentModel, config: ModelConfig | None = None) -> Evaluation:
    """qviz.evaluate.evaluate of `config` (default: the current one) with the session's output kind
    (OUTPUT_KIND_KEY), cached by model hash + data + config JSON + output kind."""
    text = (config or current_config()).to_json()
    return _evaluation(model.sha256, model.data_key, text, output_kind(), model)


def output_kind() -> str | None:
    """How this session compares outputs (qviz.evaluate.output_kind's override text, e.g.
    "classes:1:logits"), None for auto: set on the output-kind form (qviz.ui.output_kind_form)."""
    text = st.session_state.get(OUTPUT_KIND_KEY)
    return None if text in (None, "auto") else text


@st.cache_data(max_entries=64, show_spinner=False)
def _output_kinds(model_sha: str, data_key: str, given: str | None, _model: CurrentModel) -> list[OutputKind]:
    run, lock = runner(_model)
    with lock:
        return decide_all(run.output_names, run.float_outputs(), given)


def output_kinds(model: CurrentModel, given: str | None = None) -> list[OutputKind]:
    """Per output, how `given` (None: auto) compares it on the float model's outputs (SpecError
    for an override the outputs cannot take, e.g. an axis they do not have)."""
    return _output_kinds(model.sha256, model.data_key, given, model)


@st.cache_data(max_entries=128, show_spinner=False)
def _layer_errors(model_sha: str, data_key: str, config_text: str, _model: CurrentModel):
    run, lock = runner(_model)
    with lock:
        return layer_errors(run, parse_config(config_text))


def layer_error_table(model: CurrentModel, config: ModelConfig | None = None):
    """qviz.evaluate.layer_errors (local and propagated, first 32 samples), cached by content."""
    return _layer_errors(model.sha256, model.data_key, (config or current_config()).to_json(), model)


def layer_errors_on_demand(model: CurrentModel) -> bool:
    """True when the Tune page's per-layer chart waits to be asked for: its passes (about four over
    up to 32 samples, qviz.evaluate.layer_error) hold more than LAYER_ERRORS_AT_ONCE_MACS
    multiply-adds. A small model shows it with every change; a ResNet-50 (4 G per sample) would
    spend seconds on it after each one."""
    samples = min(runner(model)[0].data.n, MAX_SAMPLES)
    return sum(x.macs or 0 for x in model.layers) * samples > LAYER_ERRORS_AT_ONCE_MACS


def headline_metric(model: CurrentModel) -> str:
    """accuracy (labels), else agreement; sqnr_db when no output has a class decision (output_kind.py)."""
    if evaluation(model).decision_kind is None:
        return "sqnr_db"
    return metric_names.headline_metric(runner(model)[0].data.labels is not None)


def measure_text(ev: Evaluation) -> str:
    """One translated line: which output the numbers compare, and how (ev.output_kinds)."""
    k = ev.decision_kind or (ev.output_kinds[0] if ev.output_kinds else None)
    return "" if k is None else kind_text(k)


def kind_text(k: OutputKind) -> str:
    """One translated line: how output k.name is compared."""
    at = t("tn_measure_positions", n=k.positions) if k.positions > 1 else ""
    name = md_escape(k.name)  # a model-provided output name, shown in st.caption (Markdown)
    if k.kind == "values":
        return t("tn_measure_values", name=name)
    if k.kind == "binary":
        kl = t("tn_kl_probabilities" if k.probabilities else "tn_kl_sigmoid")
        return t("tn_measure_binary", name=name, threshold=f"{k.threshold:g}", positions=at, kl=kl)
    if k.axis is None:
        return t("tn_measure_ids", name=name, positions=at)
    kl = t("tn_kl_probabilities" if k.probabilities else "tn_kl_softmax")
    return t("tn_measure_classes", name=name, axis=k.axis, positions=at, kl=kl)


def history() -> list:
    return st.session_state.setdefault(HISTORY_KEY, [])


def record(model: CurrentModel, ev: Evaluation, label: str | None = None) -> None:
    """Append an evaluated config to the session history (same config: replaced, not duplicated)."""
    entry = tuning.history_entry(model.scope, label or config_label(), ev)
    st.session_state[HISTORY_KEY] = tuning.add_to_history(history(), entry)


def history_df(model: CurrentModel):
    return tuning.history_frame(history(), model.scope)
