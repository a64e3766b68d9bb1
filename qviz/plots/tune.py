"""The Tune page's figure: per-layer local and propagated error (SQNR in dB), graph order.

Local = only that layer quantized (where error is born); propagated = the whole config
(what reaches that layer's output). +inf SQNR (float layer, nothing changed) is drawn as no bar.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from qviz.plots.learn import MARGIN

ERROR_HEIGHT = 340


def _finite(values) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(v), v, np.nan)


def layer_error_figure(layer_ids, local_db, propagated_db, labels: dict) -> go.Figure:
    """Grouped bars per layer; labels: title, x, y, local, propagated (translated)."""
    names = [html.escape(str(x)) for x in layer_ids]
    x = np.arange(len(names))
    fig = go.Figure()
    for values, key, color in ((local_db, "local", "#4c78a8"), (propagated_db, "propagated", "#f58518")):
        fig.add_bar(
            x=x,
            y=_finite(values),
            name=labels[key],
            marker_color=color,
            customdata=x,
            hovertext=[f"#{i} {n}" for i, n in enumerate(names)],
            hoverinfo="text+y",
        )
    fig.update_layout(
        title=dict(text=html.escape(labels["title"]), x=0.0, font=dict(size=15)),
        height=ERROR_HEIGHT,
        margin=MARGIN,
        xaxis_title=labels["x"],
        yaxis_title=labels["y"],
        template="plotly_white",
        barmode="group",
        bargap=0.15,
        legend=dict(orientation="h", y=1.12, x=1, xanchor="right"),
    )
    return fig
