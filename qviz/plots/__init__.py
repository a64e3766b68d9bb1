"""Figures: arrays (or DataFrames) in, plotly go.Figure out. No streamlit here.

Text (titles, axis labels, legend names) comes in as arguments, already translated, so
the same figure serves the app in any language and the HTML report.
"""

from qviz.plots.layer import channel_range_figure, code_usage_figure, error_map_figure, estimator_figure
from qviz.plots.learn import clip_round_figure, histogram_figure, sqnr_bits_figure
from qviz.plots.model import model_map_figure

__all__ = [
    "channel_range_figure",
    "clip_round_figure",
    "code_usage_figure",
    "error_map_figure",
    "estimator_figure",
    "histogram_figure",
    "model_map_figure",
    "sqnr_bits_figure",
]
