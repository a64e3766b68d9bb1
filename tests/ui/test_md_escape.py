"""md_escape: model-provided text renders as plain text, whatever it holds (issue 12, item 6)."""

from __future__ import annotations

import pytest

from qviz.ui.text import md_escape
from qviz_dev.hostile_models import ANSI, MARKDOWN, XSS
from qviz_dev.markdown_oracle import markup

NODE_NAME = "pwn\n===\n\nhttps://evil.example/p www.evil.example"
NPZ_KEY = "[c](https://evil.example)"
HOSTILE = {
    "setext_and_autolinks": NODE_NAME,
    "npz_key_link": NPZ_KEY,
    "atx_heading": "# big",
    "atx_after_newline": "ok\n## big",
    "dash_setext": "x\n---",
    "bare_www_upper": "WWW.evil.example",
    "email": "mail me: a.b@evil.example",
    "mailto": "mailto:a@evil.example",
    "html": XSS,
    "markdown_mix": MARKDOWN,
    "ansi": ANSI,
    "backslashes": "\\[x\\](https://evil.example) \\\\*y*",
    "emphasis": "*a* _b_ **c** ~~d~~",
    "code": "`x` ```y```",
    "table": "a|b\n-|-\n1|2",
    "list": "- a\n1. b",
    "quote": "> q",
    "crlf": "a\r\n===\r\nb\u2028# c",
    "streamlit_directives": ":red[alarm] :material/warning: $x^2$",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_escaped_text_renders_no_markup(name):
    assert markup(md_escape(HOSTILE[name])) == []


def test_the_oracle_sees_the_attacks_unescaped():
    assert {"heading", "link"} <= set(markup(NODE_NAME))
    assert markup(NPZ_KEY) == ["link"]


def test_text_survives_except_line_breaks():
    """What a reader sees: the same characters (bar the invisible word joiner), line breaks as spaces."""
    from markdown_it import MarkdownIt

    shown = MarkdownIt("commonmark").renderInline(md_escape(NODE_NAME)).replace("\u2060", "")
    assert shown == "pwn === https://evil.example/p www.evil.example"
