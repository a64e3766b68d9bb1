"""The Trade-offs page: latency of the history's configs, config restore and diff, names, the fp32
baseline, and the table and figure labels (quality in percent, sizes in KiB or MiB)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from qviz.config import PRESETS
from qviz.evaluate import config_latency, pareto, tuning
from qviz.plots.tradeoffs import tradeoff_figure
from qviz.ui.models import CurrentModel
from qviz.ui.scoring import HISTORY_KEY, evaluation, history, history_df, record, runner
from qviz.ui.state import parse_config, set_config
from qviz.ui.text import t

LATENCY_RUNS = 20


def restore_config(config_text: str) -> None:
    set_config(parse_config(config_text))


@st.cache_data(max_entries=256, show_spinner=False)
def _latency(model_sha: str, data_key: str, config_text: str, _model: CurrentModel):
    run, lock = runner(_model)
    with lock:
        lat = config_latency(run.sim, parse_config(config_text), run.data.feeds[0], runs=LATENCY_RUNS)
    return float(lat.median_ms), latency_kind(lat.model, lat.native_speedup)


def latency_kind(model: str, native_speedup: bool) -> str:
    """What was timed, one of LATENCY_KINDS: a deployed model splits into integer kernels and float
    fallback (weight-only layers: DequantizeLinear on every run, then float kernels)."""
    if model != "deployed":
        return model
    return "deployed_integer" if native_speedup else "deployed_float"


def measure_latency(model: CurrentModel, progress=None) -> None:
    """Measure (median of LATENCY_RUNS, one thread) every history entry of the model without a latency."""
    entries = history()
    todo = [i for i, h in enumerate(entries) if h["model"] == model.scope and h["latency_ms"] is None]
    for n, i in enumerate(todo):
        ms, kind = _latency(model.sha256, model.data_key, entries[i]["config"], model)
        entries[i] = {**entries[i], "latency_ms": ms, "latency_model": kind}
        if progress is not None:
            progress(n + 1, len(todo))
    st.session_state[HISTORY_KEY] = entries


def diff_table(model: CurrentModel, a_text: str, b_text: str):
    return tuning.config_diff(model.layers, parse_config(a_text), parse_config(b_text))


# --- issue 15 item 7: honest numbers (names, the fp32 baseline, units, what was timed) ---------------

NAMES_KEY = "trade_names"  # {(scope, config JSON): the name a user gave it}
NAME_INPUT_KEY = "trade_name"  # the page's text input
PERCENT_METRICS = ("accuracy", "agreement")  # fractions in the history, percent on every page
# What a latency timed: qviz.evaluate.latency.config_latency's `model`, "deployed" split by latency_kind
# ("deployed" alone: measured elsewhere, e.g. on Tune, kernels not recorded).
LATENCY_KINDS = ("deployed_integer", "deployed_float", "deployed", "simulated", "float")


def ensure_baseline(model: CurrentModel) -> None:
    """Put the fp32 model in the history (labelled as the baseline) if it is not there yet."""
    fp32 = PRESETS["fp32"]
    if any(h["model"] == model.scope and h["config"] == fp32.to_json() for h in history()):
        return
    record(model, evaluation(model, fp32), label=t("to_baseline"))


def name_config(model: CurrentModel, config_text: str) -> None:
    """Button callback: the name typed in NAME_INPUT_KEY becomes the config's name on this page (kept
    apart from the history: re-evaluating relabels it). Read here, not bound when the button was drawn:
    a name typed just before the click arrives in the same run as the click."""
    name = str(st.session_state.get(NAME_INPUT_KEY) or "").strip()
    if name:
        st.session_state.setdefault(NAMES_KEY, {})[(model.scope, config_text)] = name


def named_history(model: CurrentModel) -> pd.DataFrame:
    """history_df with the names users gave (empty names keep the config's own label)."""
    df = history_df(model)
    names = st.session_state.get(NAMES_KEY, {})
    given = [names.get((model.scope, c)) or lab for c, lab in zip(df["config"], df["label"], strict=True)]
    return df.assign(label=given)


def size_unit(weight_bytes) -> tuple[str, int]:
    """("MiB", 2**20) once the largest size reaches 1 MiB, else ("KiB", 1024).

    >>> size_unit([10_857_984]), size_unit([17_000])
    (('MiB', 1048576), ('KiB', 1024))
    """
    return ("MiB", 2**20) if len(weight_bytes) and max(weight_bytes) >= 2**20 else ("KiB", 1024)


def fronts(df: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(front on quality and size: what the plot's axes show, front with latency or None if none timed)."""
    plotted = pareto.pareto_mask(df.drop(columns="latency_ms"), metric)
    timed = df["latency_ms"].astype(float).notna().any()
    return plotted, pareto.pareto_mask(df, metric) if timed else None


def figure(df: pd.DataFrame, metric: str, plotted, with_latency) -> go.Figure:
    """The page's figure (qviz.plots.tradeoffs): quality in percent where it is a fraction, sizes in
    KiB or MiB, the front of the drawn axes and, once timed, the configs latency puts on the front."""
    unit = size_unit(df["weight_bytes"])
    labels = figure_labels(metric, unit[0])
    percent = metric in PERCENT_METRICS
    return tradeoff_figure(
        df, metric, plotted, labels, percent=percent, size_unit=unit, front_with_latency=with_latency
    )


def figure_labels(metric: str, unit: str) -> dict:
    return {
        "title": t("to_figure_title"),
        "x": t("to_size", unit=unit),
        "y": metric_label(metric),
        "points": t("to_points"),
        "front": t("to_front"),
        "latency": t("to_latency"),
        "faster": t("to_front_faster"),
        "not_measured": t("to_not_measured"),
    }


def metric_label(metric: str) -> str:
    return t(f"to_metric_{metric}") + (" (%)" if metric in PERCENT_METRICS else "")


def points_table(df: pd.DataFrame, metric: str, plotted, with_latency) -> pd.DataFrame:
    """The points as the page lists them: translated headers, percent, the size unit, latency text."""
    unit, scale = size_unit(df["weight_bytes"])
    quality = df[metric].astype(float) * (100.0 if metric in PERCENT_METRICS else 1.0)
    lat = df["latency_ms"].astype(float)
    kinds = [t(f"to_timed_{k}") if k in LATENCY_KINDS else "" for k in df["latency_model"]]
    table = {
        t("to_label"): df["label"],
        metric_label(metric): quality.round(2 if metric in PERCENT_METRICS else 4),
        t("to_size", unit=unit): (df["weight_bytes"] / scale).round(1),
        t("tn_bpw"): df["bits_per_weight"].round(2),
        t("to_latency"): [f"{ms:.2f}" if ms == ms else t("to_not_measured") for ms in lat],
        t("to_latency_of"): kinds,
        t("to_front"): plotted,
    }
    if with_latency is not None:
        table[t("to_front_with_latency")] = with_latency
    return pd.DataFrame(table)
