"""The Trade-offs page's figure: every evaluated config, quality vs weight size, the front of THOSE axes.

x = weight size (KiB or MiB), y = the quality metric (accuracy and agreement in percent).
The dotted line joins the Pareto front of what is drawn: quality and size (pass that mask as
`front`). Once latency is measured it is the third measure: it colours the markers (a colour
bar in ms), and the configs that join the front only because they are faster get their own
trace (diamonds), so no point sits on the drawn line that is not on the drawn front.
customdata = the row index, so a click (on_select) tells which config was chosen.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from qviz.plots.learn import MARGIN

TRADEOFF_HEIGHT = 420
FRONT_COLOUR, OTHER_COLOUR = "#e45756", "#4c78a8"


def _latency_text(ms, labels: dict) -> str:
    measured = ms is not None and ms == ms
    return f"{ms:.2f} ms" if measured else labels.get("not_measured", "—")


def tradeoff_figure(
    df,
    metric: str,
    front,
    labels: dict,
    *,
    percent: bool = False,
    size_unit: tuple[str, int] = ("KiB", 1024),
    front_with_latency=None,
) -> go.Figure:
    """df: history_frame rows; front: bool mask on (metric, size); front_with_latency: the mask when
    latency counts too (None: nothing timed); labels: title, x, y, points, front, latency, faster,
    not_measured (translated)."""
    size = df["weight_bytes"].to_numpy(np.float64) / size_unit[1]
    y = df[metric].astype(float).to_numpy() * (100.0 if percent else 1.0)
    front = np.asarray(front, bool)
    lat = df["latency_ms"].astype(float).to_numpy()
    idx = np.arange(len(df))
    y_fmt = ".2f" if percent else ".4f"
    hover = [
        f"#{i} {html.escape(str(lab))}<br>{labels['x']}: {s:.1f}<br>{labels['y']}: {v:{y_fmt}}"
        f"<br>{labels['latency']}: {_latency_text(ms, labels)}"
        for i, lab, s, v, ms in zip(idx, df["label"], size, y, lat, strict=True)
    ]
    timed = np.isfinite(lat).any()
    marker: dict = dict(size=14, line=dict(width=1, color="white"))
    if timed:  # latency is the colour; unmeasured points stay grey
        marker |= dict(
            color=np.where(np.isfinite(lat), lat, np.nan),
            colorscale="Viridis",
            colorbar=dict(title=labels["latency"]),
            line=dict(width=2, color=np.where(front, FRONT_COLOUR, "white")),
        )
    else:
        marker |= dict(color=np.where(front, FRONT_COLOUR, OTHER_COLOUR))
    fig = go.Figure()
    fig.add_scatter(
        x=size,
        y=y,
        mode="markers+text",
        name=labels["points"],
        customdata=idx,
        text=[str(i) for i in idx],
        textposition="top center",
        hovertext=hover,
        hoverinfo="text",
        marker=marker,
    )
    order = np.argsort(size[front], kind="stable")
    fig.add_scatter(
        x=size[front][order],
        y=y[front][order],
        mode="lines",
        name=labels["front"],
        line=dict(color=FRONT_COLOUR, dash="dot"),
        hoverinfo="skip",
    )
    if front_with_latency is not None:
        faster = np.asarray(front_with_latency, bool) & ~front
        fig.add_scatter(
            x=size[faster],
            y=y[faster],
            mode="markers",
            name=labels.get("faster", "faster"),
            marker=dict(symbol="diamond-open", size=22, color=FRONT_COLOUR, line=dict(width=2)),
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
