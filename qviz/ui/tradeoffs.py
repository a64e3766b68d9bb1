"""The Trade-offs page: latency of the history's configs, config restore and diff."""

from __future__ import annotations

import streamlit as st

from qviz.evaluate import config_latency, tuning
from qviz.ui.models import CurrentModel
from qviz.ui.scoring import HISTORY_KEY, history, runner
from qviz.ui.state import parse_config, set_config

LATENCY_RUNS = 20


def restore_config(config_text: str) -> None:
    set_config(parse_config(config_text))


@st.cache_data(max_entries=256, show_spinner=False)
def _latency(model_sha: str, data_key: str, config_text: str, _model: CurrentModel):
    run, lock = runner(_model)
    with lock:
        lat = config_latency(run.sim, parse_config(config_text), run.data.feeds[0], runs=LATENCY_RUNS)
    return float(lat.median_ms), lat.model


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
