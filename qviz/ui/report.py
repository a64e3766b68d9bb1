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
from qviz.ui.state import config_json, current_config
from qviz.ui.text import format_size, lang, t


# NOTE: the key holds everything the report prints, the file name too: two users may upload the same
# bytes under different names, and neither may see the other's.
@st.cache_data(max_entries=8, show_spinner=False)
def _report(
    model_sha: str, name: str, data_key: str, config_text: str, layer_id: str, lang_code: str, _model: CurrentModel
) -> str:
    return build_report(_model)


def report_html(model: CurrentModel) -> str:
    """The self-contained HTML report of the current model, config and selected layer (cached)."""
    layer = current_layer(model)
    return _report(model.sha256, model.name, model.data_key, config_json(), layer.id if layer else "", lang(), model)


def build_report(model: CurrentModel) -> str:
    df = model_map(model)
    config = current_config()
    summary = {
        t("rep_model"): model.name,
        t("sum_layers"): len(model.layers),
        t("sum_params"): f"{model.loaded.param_count:,}",
        t("sum_size"): format_size(model.loaded.file_size),
        t("rep_config"): config_code(config) if len(config_code(config)) < 40 else t("rep_custom"),
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
        (
            t("map_table"),
            df[list(SHOWN_COLUMNS)],
        ),
        (t("exp_problems"), {"problem": problems or [t("exp_no_problems")]}),
    ]
    return render_report(t("rep_title"), summary, figures, tables, config.to_dict())
