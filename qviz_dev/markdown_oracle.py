"""What a Markdown string would render as, for tests of model-provided text (qviz.ui.text.md_escape).

markdown-it-py parses CommonMark (+ tables, strikethrough) the way Streamlit's frontend does; GFM's
autolink literals are found by the frontend in the DECODED text (mdast-util-gfm-autolink-literal),
so the same regular expressions run here on the text markdown-it-py decoded.

    >>> markup("# title [a](https://x.example)")
    ['heading', 'link']
    >>> markup(r"\\# title \\[a\\](https\\:\u2060//x.example)")
    []
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

# mdast-util-gfm-autolink-literal's patterns (JavaScript \w is ASCII only: so here).
_URL = re.compile(r"(https?://|www(?=\.))[-.\w]+", re.IGNORECASE | re.ASCII)
_EMAIL = re.compile(r"[-.\w+]+@[-\w]+(?:\.[-\w]+)+", re.ASCII)
_MARKUP = {
    "heading_open": "heading",
    "link_open": "link",
    "image": "image",
    "html_inline": "html",
    "html_block": "html",
    "em_open": "emphasis",
    "strong_open": "emphasis",
    "s_open": "emphasis",
    "code_inline": "code",
    "code_block": "code",
    "fence": "code",
    "table_open": "table",
    "bullet_list_open": "list",
    "ordered_list_open": "list",
    "blockquote_open": "quote",
    "hr": "rule",
}


def markup(md: str) -> list[str]:
    """The kinds of markup (heading, link, html, emphasis, code, ...) `md` renders; [] for plain text."""
    found: list[str] = []
    for token in _walk(MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(md)):
        if token.type in _MARKUP:
            found.append(_MARKUP[token.type])
        if token.type == "text" and (_URL.search(token.content) or _EMAIL.search(token.content)):
            found.append("link")
    return found


def _walk(tokens):
    for token in tokens:
        yield token
        yield from _walk(token.children or [])


def rendered_text(md: str) -> str:
    """The text a reader sees in `md`: escapes decoded, word joiners (md_escape's link breakers) gone.

    >>> rendered_text(r"model is 1\\.2 MiB\\; the limit is 1 MiB")
    'model is 1.2 MiB; the limit is 1 MiB'
    """
    tokens = _walk(MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(md))
    return "".join(
        t.content if t.type in ("text", "code_inline") else " " if t.type == "softbreak" else "" for t in tokens
    ).replace("\u2060", "")
