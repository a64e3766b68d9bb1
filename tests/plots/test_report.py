"""qviz.plots.html_page: one self-contained HTML file, model strings escaped, plotly.js inlined once."""

import plotly.graph_objects as go

from qviz.plots import model_map_figure
from qviz.plots.html_page import render_report

EVIL = "<img src=x onerror=alert(1)>"


def test_report_is_self_contained_and_escapes_model_strings():
    fig = model_map_figure([EVIL, "fc"], ["Conv", "Gemm"], [30.0, 40.0], {"title": "map", "x": "layer", "y": "dB"})
    text = render_report(
        "qviz report",
        {"Model": EVIL},
        [("Map", fig), ("", go.Figure())],
        [("Layers", {"id": [EVIL, "fc"]})],
        {"version": 1, "layers": {EVIL: None}},
    )
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert EVIL not in text  # summary, table, config, figure: all escaped
    assert text.count("&lt;img src=x onerror=alert(1)&gt;") >= 3
    assert text.count("plotly.js v") == 1 and "<script src=" not in text
    assert text.count("Plotly.newPlot") == 2


def test_report_without_figures_or_config():
    text = render_report("t", {}, [], [], None)
    assert "config.json" not in text and "plotly.js v" not in text
