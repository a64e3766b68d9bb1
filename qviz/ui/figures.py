"""Figures with translated labels, shared by the pages and the HTML report (qviz.plots draws them)."""

from __future__ import annotations

from qviz.model import Layer
from qviz.plots import (
    channel_range_figure,
    clip_round_figure,
    code_usage_figure,
    error_map_figure,
    estimator_figure,
    histogram_figure,
    model_map_figure,
)
from qviz.plots.sensitivity import sensitivity_heatmap
from qviz.plots.tune import layer_error_figure
from qviz.ui.cache import group_view, model_map
from qviz.ui.models import CurrentModel
from qviz.ui.text import t


def model_map_fig(model: CurrentModel, quantity: str):
    df = model_map(model)
    labels = {"title": t("map_title"), "x": t("map_x"), "y": t(f"qty_{quantity}")}
    return model_map_figure(
        df["id"].tolist(),
        df["op_type"].tolist(),
        df[quantity].tolist(),
        labels,
        log_y=quantity in ("param_share", "channel_spread"),
    )


def weight_histogram_fig(view, log_y: bool = False, title: str | None = None):
    """Histogram of a WeightView (whole tensor) or a GroupView (one channel/group; pass its title)."""
    labels = {
        "title": title or t("lw_hist_title"),
        "x": t("hist_x"),
        "y": t("hist_y"),
        "values": t("hist_values"),
        "levels": t("hist_levels"),
        "clip": t("hist_clip"),
    }
    fig = histogram_figure(view.counts, view.edges, view.levels, view.thresholds, labels)
    return fig.update_yaxes(type="log") if log_y else fig


def layer_histogram_fig(model: CurrentModel, layer: Layer, view, index: int | None = None, log_y: bool = False):
    """Per-tensor: the whole tensor; per-channel/group: group `index` (default the widest) with its own grid."""
    if view.spec.granularity == "tensor":
        return weight_histogram_fig(view, log_y)
    group = group_view(model, layer, view.spec, view.widest if index is None else index)
    return weight_histogram_fig(group, log_y, t(f"lw_hist_title_{view.spec.granularity}", c=group.index))


def channel_fig(view):
    labels = {
        "title": t("lw_channels_title"),
        "x": t("lw_channels_x"),
        "y": t("hist_x"),
        "range": t("lw_channels_range"),
        "outlier": t("lw_channels_outlier"),
        "clip": t("hist_clip"),
    }
    return channel_range_figure(view.channels, labels)


def error_map_fig(view):
    labels = {
        "title": t(f"lw_map_title_{view.map_kind}"),
        "x": t(f"lw_map_x_{view.map_kind}"),
        "y": t(f"lw_map_y_{view.map_kind}"),
        "colorbar": t("lw_map_colorbar"),
    }
    return error_map_figure(view.error_map, labels, square=view.map_kind == "kernels")


def split_fig(thresholds, clip_mse, round_mse, chosen):
    """The clipping vs rounding error figure (Learn page and Layer page), labels translated."""
    keys = ("title", "x", "y", "clip", "round", "total", "chosen")
    return clip_round_figure(thresholds, clip_mse, round_mse, chosen, {k: t(f"split_{k}") for k in keys})


def estimator_fig(view):
    labels = {"title": t("lw_est_title"), "x": t("estimator"), "y": t("sqnr_y")}
    labels |= {"name_" + n: t(f"est_{n}") for n in view.estimators["estimator"]}
    return estimator_figure(view.estimators, view.spec.estimator, labels)


def codes_fig(view):
    labels = {"title": t("lw_codes_title"), "x": t("col_q"), "y": t("hist_y")}
    return code_usage_figure(view.codes, labels)


def activation_fig(act, log_y: bool = False):
    labels = {
        "title": t("lw_act_title"),
        "x": t("hist_x"),
        "y": t("hist_y"),
        "values": t("hist_values"),
        "levels": t("hist_levels"),
        "clip": t("hist_clip"),
    }
    fig = histogram_figure(act.counts, act.edges, act.levels, act.thresholds, labels)
    return fig.update_yaxes(type="log") if log_y else fig


def layer_error_fig(df):
    labels = {
        "title": t("tn_err_title"),
        "x": t("map_x"),
        "y": t("sqnr_y"),
        "local": t("tn_local"),
        "propagated": t("tn_propagated"),
    }
    return layer_error_figure(df["layer"].tolist(), df["local_sqnr_db"], df["propagated_sqnr_db"], labels)


def sweep_fig(table, metric: str):
    labels = {
        "title": t("sn_heat_title"),
        "x": t("sn_candidate"),
        "y": t("sn_layer"),
        "colorbar": t("sn_damage", metric=t(f"sn_metric_{metric}")),
    }
    return sensitivity_heatmap(table, labels)
