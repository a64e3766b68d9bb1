"""The Learn page's figures: histogram with the quantization grid, SQNR vs bits, error split.

All inputs are small precomputed arrays (histogram counts, not raw values), so a figure
stays a few kB whatever the tensor size.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

HEIGHT = 340
MARGIN = dict(l=10, r=10, t=40, b=10)
LEVEL_COLOR = "rgba(90, 90, 90, 0.35)"
CLIP_COLOR = "#d62728"


def titled_layout(fig: go.Figure, title: str, x_title: str, y_title: str) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0.0, font=dict(size=15)),
        height=HEIGHT,
        margin=MARGIN,
        xaxis_title=x_title,
        yaxis_title=y_title,
        legend=dict(orientation="h", y=-0.22, x=0.0),
        template="plotly_white",
    )
    return fig


def _vertical_lines(xs, y_top: float) -> tuple[list, list]:
    """Many vertical lines as ONE scatter trace (None breaks the line): cheap to draw and send."""
    px, py = [], []
    for x in xs:
        px += [float(x), float(x), None]
        py += [0.0, y_top, None]
    return px, py


def histogram_figure(counts, edges, levels, thresholds, labels: dict) -> go.Figure:
    """Bars of the binned values, the quantization levels as thin lines, clipping thresholds in red.

    labels: title, x, y, values, levels, clip (translated strings). thresholds: (lo, hi) or None.
    """
    counts, edges = np.asarray(counts), np.asarray(edges, dtype=np.float64)
    fig = go.Figure()
    fig.add_bar(
        x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges), name=labels["values"], marker_color="#4c78a8"
    )
    top = float(counts.max(initial=1)) * 1.05
    if len(levels):
        lx, ly = _vertical_lines(levels, top)
        fig.add_scatter(
            x=lx, y=ly, mode="lines", line=dict(color=LEVEL_COLOR, width=1), name=labels["levels"], hoverinfo="skip"
        )
    if thresholds is not None:
        cx, cy = _vertical_lines(thresholds, top)
        fig.add_scatter(
            x=cx, y=cy, mode="lines", line=dict(color=CLIP_COLOR, width=2, dash="dash"), name=labels["clip"]
        )
    fig.update_layout(bargap=0)
    return titled_layout(fig, labels["title"], labels["x"], labels["y"])


def sqnr_bits_figure(bits, sqnr, rule, chosen_bits: int | None, labels: dict) -> go.Figure:
    """SQNR (dB) per bit width, the 6.02 dB/bit rule dashed, the current bit width marked.

    labels: title, x, y, measured, rule, current.
    """
    bits, sqnr = np.asarray(bits), np.asarray(sqnr, dtype=np.float64)
    fig = go.Figure()
    fig.add_scatter(x=bits, y=sqnr, mode="lines+markers", name=labels["measured"], line=dict(color="#4c78a8"))
    fig.add_scatter(
        x=bits,
        y=np.asarray(rule, dtype=np.float64),
        mode="lines",
        name=labels["rule"],
        line=dict(color="#888888", dash="dash"),
    )
    if chosen_bits is not None and chosen_bits in set(bits.tolist()):
        y = float(sqnr[bits.tolist().index(chosen_bits)])
        fig.add_scatter(
            x=[chosen_bits],
            y=[y],
            mode="markers",
            name=labels["current"],
            marker=dict(size=13, color=CLIP_COLOR, symbol="circle-open", line=dict(width=3)),
        )
    fig.update_xaxes(dtick=1)
    return titled_layout(fig, labels["title"], labels["x"], labels["y"])


def clip_round_figure(thresholds, clip_mse, round_mse, chosen: float | None, labels: dict) -> go.Figure:
    """Clipping, rounding and total MSE against the clipping threshold (log y); estimator's choice marked.

    labels: title, x, y, clip, round, total, chosen.
    """
    thresholds = np.asarray(thresholds, dtype=np.float64)
    clip_mse, round_mse = np.asarray(clip_mse, dtype=np.float64), np.asarray(round_mse, dtype=np.float64)
    total = clip_mse + round_mse
    fig = go.Figure()
    fig.add_scatter(x=thresholds, y=clip_mse, mode="lines", name=labels["clip"], line=dict(color=CLIP_COLOR))
    fig.add_scatter(x=thresholds, y=round_mse, mode="lines", name=labels["round"], line=dict(color="#4c78a8"))
    fig.add_scatter(x=thresholds, y=total, mode="lines", name=labels["total"], line=dict(color="black", width=3))
    if chosen is not None and len(thresholds):
        positive = total[total > 0]
        lo, hi = (positive.min(), positive.max()) if positive.size else (1e-12, 1.0)
        fig.add_scatter(
            x=[chosen, chosen],
            y=[lo, hi],
            mode="lines",
            name=labels["chosen"],
            line=dict(color="#2ca02c", dash="dot", width=2),
        )
    fig.update_yaxes(type="log")
    return titled_layout(fig, labels["title"], labels["x"], labels["y"])
