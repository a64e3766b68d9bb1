"""The self-contained HTML report of the current model, config and selected layer."""

from __future__ import annotations

import streamlit as st

from qviz.config.url import config_code
from qviz.evaluate.model_map import SHOWN_COLUMNS
from qviz.plots.html_page import render_report
from qviz.ui.cache import layer_specs, model_map, weight_view
from qviz.ui.export import deployable_problems
from qviz.ui.figures import channel_fig, error_map_fig, layer_histogram_fig, model_map_fig
from qviz.ui.layers import current_layer
from qviz.ui.models import CurrentModel
from qviz.ui.scoring import evaluation, history_df
from qviz.ui.state import config_json, current_config
from qviz.ui.tables import map_column_labels
from qviz.ui.text import format_size, lang, t

TRADEOFF_COLUMNS = {  # tuning.history_frame columns shown, with their header keys
    "label": "rep_col_config",
    "accuracy": "rep_col_accuracy",
    "agreement": "rep_col_agreement",
    "sqnr_db": "rep_col_sqnr",
    "weight_bytes": "rep_col_size",
    "bits_per_weight": "rep_col_bpw",
    "latency_ms": "rep_col_latency",
}


# NOTE: the key holds everything the report prints, the file name too: two users may upload the same
# bytes under different names, and neither may see the other's.
@st.cache_data(max_entries=8, show_spinner=False)
def _report(
    model_sha: str,
    name: str,
    data_key: str,
    config_text: str,
    layer_id: str,
    lang_code: str,
    tradeoffs_key: str,
    _model: CurrentModel,
) -> str:
    return build_report(_model)


def report_html(model: CurrentModel) -> str:
    """The self-contained HTML report of the current model, config and selected layer (cached)."""
    layer = current_layer(model)
    tradeoffs = history_df(model).to_json()  # the trade-offs table is printed too: part of the key
    layer_id = layer.id if layer else ""
    return _report(model.sha256, model.name, model.data_key, config_json(), layer_id, lang(), tradeoffs, model)


def build_report(model: CurrentModel) -> str:
    df = model_map(model)
    config = current_config()
    summary = {
        t("rep_model"): model.name,
        t("sum_layers"): len(model.layers),
        t("sum_params"): f"{model.loaded.param_count:,}",
        t("sum_size"): format_size(model.loaded.file_size),
        t("rep_config"): config_code(config) if len(config_code(config)) < 40 else t("rep_custom"),
        **quality_rows(model),
    }
    figures = [
        (t("map_title") + " — " + t("qty_weight_sqnr_db"), model_map_fig(model, "weight_sqnr_db")),
        (t("map_title") + " — " + t("qty_bits"), model_map_fig(model, "bits")),
    ]
    layer = current_layer(model)
    specs = layer_specs(model, layer) if layer else None
    if layer is not None and specs is not None and specs.weights is not None:
        view = weight_view(model, layer, specs.weights)
        figures += [
            (t("rep_layer", layer=layer.id), layer_histogram_fig(model, layer, view)),
            ("", channel_fig(view)),
            ("", error_map_fig(view)),
        ]
    problems = deployable_problems(model)
    tables = [
        (t("map_table"), df[list(SHOWN_COLUMNS)].rename(columns=map_column_labels())),
        (t("exp_problems"), {t("exp_problems"): problems or [t("exp_no_problems")]}),
    ]
    tradeoffs = tradeoff_table(model)
    if len(tradeoffs):
        tables.append((t("rep_tradeoffs"), tradeoffs))
    return render_report(t("rep_title"), summary, figures, tables, config.to_dict())


def quality_rows(model: CurrentModel) -> dict:
    """Summary rows of the current config's evaluation: accuracy (labels) or agreement, output SQNR, size."""
    ev = evaluation(model)
    rows = {}
    if ev.accuracy is not None and ev.float_accuracy is not None:
        rows[t("rep_accuracy")] = f"{100 * ev.float_accuracy:.1f}% → {100 * ev.accuracy:.1f}%"
    elif ev.fidelity["agreement"] is not None:
        rows[t("rep_agreement")] = f"{100 * ev.fidelity['agreement']:.1f}%"
    rows[t("rep_sqnr")] = f"{ev.fidelity['sqnr_db']:.1f} dB"
    rows[t("rep_weight_size")] = f"{format_size(ev.size.weight_bytes)} ({ev.size.bits_per_weight:.2f} bits/weight)"
    return rows


def tradeoff_table(model: CurrentModel):
    """The configs evaluated on this model and data (the Trade-offs page's points), readable headers."""
    df = history_df(model)
    shown = df[list(TRADEOFF_COLUMNS)].copy()
    shown["weight_bytes"] = [format_size(int(b)) for b in shown["weight_bytes"]]
    return shown.rename(columns={k: t(v) for k, v in TRADEOFF_COLUMNS.items()})
