"""The Model page's figure: the model map, one bar per layer in graph order.

Model strings (layer ids, op types) are HTML-escaped before they go into hover text:
plotly renders a few tags in text (<b>, <br>, <a>), and a node name is user input.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from qviz.plots.learn import MARGIN

MAP_HEIGHT = 360


def model_map_figure(ids, op_types, values, labels: dict, log_y: bool = False) -> go.Figure:
    """Bars of `values` per layer (x = graph position), colored by the same value; click = select.

    labels: title, x, y (translated). customdata holds the layer's position, so a click
    (st.plotly_chart on_select) tells which layer was chosen.
    """
    values = np.asarray(values, dtype=np.float64)
    shown = np.where(np.isfinite(values), values, np.nan)
    names = [html.escape(str(x)) for x in ids]
    ops = [html.escape(str(x)) for x in op_types]
    fig = go.Figure()
    fig.add_bar(
        x=np.arange(len(values)),
        y=shown,
        customdata=np.arange(len(values)),
        text=None,
        hovertext=[
            f"#{i} {op}<br>{name}<br>{labels['y']}: {v:.4g}"
            for i, (op, name, v) in enumerate(zip(ops, names, values, strict=True))
        ],
        hoverinfo="text",
        marker=dict(color=shown, colorscale="Viridis", showscale=True, colorbar=dict(thickness=12)),
    )
    fig.update_layout(
        title=dict(text=html.escape(labels["title"]), x=0.0, font=dict(size=15)),
        height=MAP_HEIGHT,
        margin=MARGIN,
        xaxis_title=labels["x"],
        yaxis_title=labels["y"],
        template="plotly_white",
        clickmode="event+select",
        bargap=0.15,
    )
    if log_y:
        fig.update_yaxes(type="log")
    return fig
