"""A self-contained HTML report: summary, figures, tables and the config, in one file.

    >>> import pandas as pd
    >>> import plotly.graph_objects as go
    >>> from qviz.config import PRESETS
    >>> fig = go.Figure(go.Bar(x=["w8a8", "w4g32"], y=[0.98, 0.95]))
    >>> df = pd.DataFrame({"id": ["<conv1>"], "bits": [8]})
    >>> html_text = render_report("qviz report", {"Model": "net"}, [("Map", fig)], [("Layers", df)], PRESETS["w8a8"].to_dict())
    >>> html_text.startswith("<!DOCTYPE html>"), "&lt;conv1&gt;" in html_text    # model names are escaped
    (True, True)
    >>> len(html_text) > 3_000_000                   # plotly.js is inside: it opens offline
    True

plotly.js is inlined once (plotly ships it in the package: `include_plotlyjs=True` on the
first figure), so the file opens offline: no CDN, no network. Every string that may come from
a model (ids, names in tables and the summary) is HTML-escaped; figures escape their own text.
Numbers in tables and the summary are written with `format_number` (three significant digits,
thousands grouped): a reader wants 34.7 dB, not 34.712345.
"""

from __future__ import annotations

import html
import json

import pandas as pd

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; font-size: 0.85rem; margin-bottom: 1.5rem; }
td, th { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; }
th { background: #f4f4f4; }
pre { background: #f7f7f7; padding: 0.75rem; overflow-x: auto; font-size: 0.8rem; }
"""


def render_report(title: str, summary: dict, figures: list, tables: list, config: dict | None = None) -> str:
    """The report as one HTML string (module doc). figures: [(caption, go.Figure)]; tables: [(title, DataFrame | dict)]."""
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
        _summary(summary),
    ]
    for i, (caption, fig) in enumerate(figures):
        if caption:
            parts.append(f"<h2>{html.escape(caption)}</h2>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False}))
    for name, table in tables:
        frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
        html_table = frame.to_html(index=False, escape=True, na_rep="—", float_format=format_number)
        parts.append(f"<h2>{html.escape(name)}</h2>" + html_table)
    if config is not None:
        parts.append("<h2>config.json</h2><pre>" + html.escape(json.dumps(config, indent=2, sort_keys=True)) + "</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def format_number(x: float) -> str:
    """A float as a reader wants it: 3 significant digits, whole numbers from 1000 on, grouped.

    >>> [format_number(v) for v in (34.712345, 0.98333333, 0.000123456, 12345.678, 7.0)]
    ['34.7', '0.983', '0.000123', '12,346', '7']
    """
    if x != x:  # NaN
        return "—"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def _summary(summary: dict) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(format_number(v) if isinstance(v, float) else str(v))}</td></tr>"
        for k, v in summary.items()
    )
    return f"<table>{rows}</table>"
