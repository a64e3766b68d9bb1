"""The Sensitivity page's figure: a heatmap of damage, layers (rows, graph order) x candidates.

Damage is "bigger = worse" (qviz.evaluate.sweep.damage), colored around 0: white = no change,
red = this layer alone hurts, blue = it helps (noise can). Cells not measured (a stopped sweep)
are NaN and drawn empty.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from qviz.plots.axis_titles import horizontal_y_title
from qviz.plots.learn import MARGIN

ROW_PX = 22


def sensitivity_heatmap(table, labels: dict) -> go.Figure:
    """table: DataFrame layers x candidates of damage; labels: title, x, y, colorbar (translated)."""
    z = table.to_numpy(dtype=np.float64)
    rows = [f"{i}: {html.escape(str(x))}" for i, x in enumerate(table.index)]
    text = [["" if np.isnan(v) else f"{v:.3g}" for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[html.escape(str(c)) for c in table.columns],
            y=rows,
            text=text,
            texttemplate="%{text}",
            colorscale="RdBu_r",
            zmid=0.0,
            hoverongaps=False,
            colorbar=dict(title=labels["colorbar"], thickness=12),
        )
    )
    fig.update_layout(
        title=dict(text=html.escape(labels["title"]), x=0.0, font=dict(size=15)),
        height=max(260, 90 + ROW_PX * len(rows)),
        margin=dict(MARGIN, l=10),
        xaxis_title=labels["x"],
        template="plotly_white",
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    return horizontal_y_title(fig, labels["y"])  # "层" rotated 90° reads sideways
