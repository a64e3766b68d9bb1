"""The Layer page's figures: channel ranges, error map, estimator comparison, integer codes.

Inputs are the small arrays of qviz.lessons.inspect_layer (already binned / downsampled), so each
figure stays well under the 2 MB a page may send.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from qviz.plots.learn import CLIP_COLOR, HEIGHT, titled_layout

BLUE = "#4c78a8"


def channel_range_figure(channels: dict, labels: dict) -> go.Figure:
    """Per output channel: a bar from min to max, outliers in red, the clipping range as dashed lines.

    labels: title, x, y, range, outlier, clip.
    """
    idx, cmin, cmax = channels["index"], np.asarray(channels["min"]), np.asarray(channels["max"])
    outlier = np.asarray(channels["outlier"], dtype=bool)
    fig = go.Figure()
    for mask, name, color in ((~outlier, labels["range"], BLUE), (outlier, labels["outlier"], CLIP_COLOR)):
        if mask.any():
            fig.add_bar(x=idx[mask], y=(cmax - cmin)[mask], base=cmin[mask], name=name, marker_color=color)
    fig.add_scatter(
        x=idx,
        y=channels["hi"],
        mode="lines",
        line=dict(color="black", dash="dash", width=1),
        name=labels["clip"],
        line_shape="hvh",
    )
    fig.add_scatter(
        x=idx,
        y=channels["lo"],
        mode="lines",
        line=dict(color="black", dash="dash", width=1),
        showlegend=False,
        line_shape="hvh",
    )
    fig.update_layout(bargap=0.1)
    return titled_layout(fig, labels["title"], labels["x"], labels["y"])


def error_map_figure(image: np.ndarray, labels: dict, square: bool = False) -> go.Figure:
    """Heatmap of the quantization error, symmetric diverging colors around 0 (NaN = gap).

    labels: title, x, y, colorbar. square: one x unit = one y unit (kernel grids keep kernels square).
    """
    image = np.asarray(image, dtype=np.float32)
    top = float(np.nanmax(np.abs(image))) if np.isfinite(image).any() else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=image,
            colorscale="RdBu",
            zmid=0.0,
            zmin=-top,
            zmax=top,
            colorbar=dict(title=labels["colorbar"], thickness=12),
            hoverongaps=False,
        )
    )
    fig.update_yaxes(autorange="reversed")
    if square:
        fig.update_yaxes(scaleanchor="x", constrain="domain")
        fig.update_xaxes(constrain="domain")
    fig = titled_layout(fig, labels["title"], labels["x"], labels["y"])
    fig.update_layout(height=max(HEIGHT, min(640, 40 + 3 * image.shape[0])))
    return fig


def estimator_figure(table: dict, chosen: str, labels: dict) -> go.Figure:
    """SQNR (dB) per range estimator, the spec's own estimator highlighted. labels: title, x, y."""
    names = [labels.get("name_" + n, n) for n in table["estimator"]]
    colors = [CLIP_COLOR if n == chosen else BLUE for n in table["estimator"]]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=table["sqnr_db"],
            marker_color=colors,
            text=[f"{v:.2f}" for v in table["sqnr_db"]],
            textposition="outside",
        )
    )
    lo = min(table["sqnr_db"]) if table["sqnr_db"] else 0.0
    fig.update_yaxes(range=[max(0.0, lo - 3), max(table["sqnr_db"], default=1.0) + 3])
    return titled_layout(fig, labels["title"], labels["x"], labels["y"])


def code_usage_figure(codes: dict, labels: dict) -> go.Figure:
    """How often each integer code occurs. labels: title, x, y."""
    fig = go.Figure(go.Bar(x=codes["code"], y=codes["count"], marker_color=BLUE))
    fig.update_layout(bargap=0)
    return titled_layout(fig, labels["title"], labels["x"], labels["y"])
