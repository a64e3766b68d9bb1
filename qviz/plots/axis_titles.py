"""A y-axis title that reads horizontally, in any language.

Plotly always rotates a y-axis title by 90°. Latin words then read bottom to top, but Chinese
characters are turned on their side: a one-character title such as 层 ("layer") reads sideways.
This puts the title above the axis, left of the plot area, unrotated.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go


def horizontal_y_title(fig: go.Figure, title: str) -> go.Figure:
    """`fig` with its y-axis title drawn horizontally above the axis (the rotated title removed).

    >>> fig = horizontal_y_title(go.Figure(), "层")
    >>> fig.layout.annotations[0].text, fig.layout.annotations[0].textangle, fig.layout.yaxis.title.text
    ('层', 0, None)
    """
    fig.update_yaxes(title_text=None)
    fig.add_annotation(
        text=html.escape(title),
        x=0,
        y=1,
        xref="paper",
        yref="paper",
        xanchor="right",
        yanchor="bottom",
        textangle=0,
        showarrow=False,
    )
    return fig
