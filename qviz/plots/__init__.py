"""Figures: arrays (or DataFrames) in, plotly go.Figure out. No streamlit here.

Text (titles, axis labels, legend names) comes in as arguments, already translated, so
the same figure serves the app in any language and the HTML report.
"""

from .learn import clip_round_figure, histogram_figure, sqnr_bits_figure

__all__ = ["clip_round_figure", "histogram_figure", "sqnr_bits_figure"]
