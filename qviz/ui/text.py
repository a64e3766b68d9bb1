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


def md_escape(text: str) -> str:
    """Backslash-escape Markdown (and LaTeX $) in model-provided text shown inside st.error/st.info."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])", r"\\\1", str(text))


def format_size(n_bytes: float) -> str:
    """A byte count as the pages show it: KiB below 1 MiB (every sample), then MiB, then GiB."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes / 1024:.1f} KiB"
