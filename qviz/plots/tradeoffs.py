"""The Trade-offs page's figure: every evaluated config, metric vs weight size, Pareto front marked.

x = weight size (KiB), y = accuracy (or fidelity), marker size = latency when measured
(else one size). The Pareto front (qviz.evaluate.pareto.pareto_mask) is drawn as a line through its
points. customdata = the row index, so a click (on_select) tells which config was chosen.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from qviz.plots.learn import MARGIN

TRADEOFF_HEIGHT = 420


def _marker_sizes(latency) -> np.ndarray:
    lat = np.asarray(latency, dtype=np.float64)
    if lat.size == 0 or not np.isfinite(lat).any():
        return np.full(lat.shape, 12.0)
    lo, hi = np.nanmin(lat), np.nanmax(lat)
    scaled = 10 + 20 * (lat - lo) / (hi - lo) if hi > lo else np.full(lat.shape, 16.0)
    return np.where(np.isfinite(scaled), scaled, 8.0)


def tradeoff_figure(df, metric: str, front, labels: dict) -> go.Figure:
    """df: history_frame rows; front: bool mask; labels: title, x, y, points, front, latency (translated)."""
    size_kib = df["weight_bytes"].to_numpy(np.float64) / 1024
    y = df[metric].astype(float).to_numpy()
    idx = np.arange(len(df))
    hover = [
        f"#{i} {html.escape(str(lab))}<br>{labels['x']}: {s:.1f}<br>{labels['y']}: {v:.4f}"
        + ("" if lat is None or lat != lat else f"<br>{labels['latency']}: {lat:.2f} ms")
        for i, lab, s, v, lat in zip(idx, df["label"], size_kib, y, df["latency_ms"], strict=True)
    ]
    fig = go.Figure()
    fig.add_scatter(
        x=size_kib,
        y=y,
        mode="markers+text",
        name=labels["points"],
        customdata=idx,
        text=[str(i) for i in idx],
        textposition="top center",
        hovertext=hover,
        hoverinfo="text",
        marker=dict(
            size=_marker_sizes(df["latency_ms"].astype(float)),
            color=np.where(front, "#e45756", "#4c78a8"),
            line=dict(width=1, color="white"),
        ),
    )
    order = np.argsort(size_kib[front], kind="stable")
    fig.add_scatter(
        x=size_kib[front][order],
        y=y[front][order],
        mode="lines",
        name=labels["front"],
        line=dict(color="#e45756", dash="dot"),
        hoverinfo="skip",
    )
    fig.update_layout(
        title=dict(text=html.escape(labels["title"]), x=0.0, font=dict(size=15)),
        height=TRADEOFF_HEIGHT,
        margin=MARGIN,
        xaxis_title=labels["x"],
        yaxis_title=labels["y"],
        template="plotly_white",
        clickmode="event+select",
        legend=dict(orientation="h", y=1.12, x=1, xanchor="right"),
    )
    return fig
