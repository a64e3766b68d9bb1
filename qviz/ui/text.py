"""Language and text: t(), the sidebar language switch, option labels, Markdown escaping.

Session-state key:
    lang    "en" | "zh" (the sidebar language switch)

Example: in a run with lang == "zh", t("bits") is "位宽"; a key missing from the table shows as "[[key]]".
"""

from __future__ import annotations

import re

import streamlit as st

from qviz.ui import i18n

LANG_KEY = "lang"


def lang() -> str:
    return st.session_state.get(LANG_KEY, i18n.DEFAULT_LANGUAGE)


def t(key: str, **fmt) -> str:
    """Translated text for the current language (see qviz.ui.i18n.translate)."""
    return i18n.translate(key, lang(), **fmt)


def option_labels(prefix: str):
    """format_func for a widget's options: value -> t(prefix + value), in the language of this run.

    # NOTE: the language is bound now, not looked up when called: AppTest calls format_func
    # outside the script run, where session state reads as empty (it would format in English).
    """
    current = lang()
    return lambda value: i18n.translate(f"{prefix}{value}", current)


def language_switch() -> None:
    """Sidebar selectbox English / 简体中文, stored in session state under `lang`."""
    st.session_state.setdefault(LANG_KEY, i18n.DEFAULT_LANGUAGE)
    st.sidebar.selectbox(
        "Language / 语言", options=list(i18n.LANGUAGES), format_func=i18n.LANGUAGES.__getitem__, key=LANG_KEY
    )


# Every ASCII punctuation character: CommonMark lets each be backslash-escaped, which turns off
# emphasis, code, links, images, HTML, tables, headings, lists, LaTeX ($) and Streamlit's
# :color[...] / :icon: directives.
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# Line breaks and other control characters: a name with a newline could start a heading
# (setext "===" or ATX "#"), a list or a code block on its own line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# GFM finds autolinks in the DECODED text (after backslash escapes), so escapes cannot stop them:
# a WORD JOINER (U+2060, invisible) breaks "www.", "scheme://" and "local@domain".
_WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(www)(?=\.)|(:)(?=//)|(?=@)")


def md_escape(text: object) -> str:
    r"""Model-provided text as inert Markdown: shown exactly (bar line breaks), never as markup.

    The one rendering path for names, messages and metadata that reach st.markdown, st.error,
    st.caption, headers or table markdown. Line breaks and control characters become spaces,
    every ASCII punctuation character is backslash-escaped, and an invisible word joiner
    (U+2060) breaks autolinks, which GFM detects after escapes are decoded.

    >>> md_escape("pwn\n===\n\nhttps://evil.example www.x")
    'pwn \\=\\=\\= https\\:\u2060\\/\\/evil\\.example www\u2060\\.x'
    """
    flat = _CONTROL.sub(" ", str(text))
    joined = _AUTOLINK.sub(lambda m: (m.group(1) or m.group(2) or "") + _WORD_JOINER, flat)
    return _PUNCTUATION.sub(r"\\\1", joined)


def format_size(n_bytes: float) -> str:
    """A byte count as the pages show it: KiB below 1 MiB (every sample), then MiB, then GiB."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes / 1024:.1f} KiB"
