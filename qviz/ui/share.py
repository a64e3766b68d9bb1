"""The share link: a copy box for the current view, and warnings about a link that could not be read.

A bundled sample and its config live in the URL (?sample=<id>&config=<code>, state.py); the box
shows that link with Streamlit's copy button (st.code). A link qviz cannot read does not fail
silently: the page it opens says, in plain words, what was ignored and what is shown instead,
until the user changes the model or the config.

Session-state key:
    share_warnings   [(message, (model source, config json) when it was shown)]
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from qviz.config.url import config_code
from qviz.samples import sample_ids
from qviz.ui import state
from qviz.ui.text import md_escape, t

WARNINGS_KEY = "share_warnings"


def note_link_problems(first_run: bool) -> None:
    """Turn what the URL reader refused into warnings (call right after state.init_model_state)."""
    notes = []
    error = state.url_error()
    if error:
        notes.append(t("share_config_unreadable", message=md_escape(error), preset=state.DEFAULT_PRESET))
    sample = st.query_params.get("sample")
    if first_run and sample is not None and sample not in sample_ids():
        notes.append(t("share_sample_unknown", sample=md_escape(sample[:80]), samples=", ".join(sample_ids())))
    if notes:
        st.session_state[WARNINGS_KEY] = [(note, _view()) for note in notes]


def show_link_warnings() -> None:
    """The warnings of the link this session opened, while the view is still the one it fell back to."""
    kept = [(note, view) for note, view in st.session_state.get(WARNINGS_KEY, []) if view == _view()]
    st.session_state[WARNINGS_KEY] = kept
    for note, _ in kept:
        st.warning(note, icon=":material/link_off:")


def share_box() -> None:
    """Sidebar: the link to this sample and config, with a copy button; uploads are not linkable."""
    source = st.session_state.get(state.MODEL_KEY) or {}
    with st.sidebar.expander(t("share_title"), icon=":material/share:"):
        if source.get("kind") != "sample":
            st.caption(t("share_upload"))
            return
        st.code(share_link(source["id"], config_code(state.current_config())), language=None, wrap_lines=True)
        st.caption(t("share_help"))


def share_link(sample_id: str, code: str) -> str:
    """The app's address (without its query) + ?sample=&config=.

    >>> share_link("digits_cnn", "w8a8").endswith("?sample=digits_cnn&config=w8a8")
    True
    """
    base = (_page_url() or "").split("?")[0]
    return f"{base}?{urlencode({'sample': sample_id, 'config': code})}"


def _page_url() -> str | None:
    try:
        return st.context.url
    except Exception:  # noqa: BLE001 - outside a script run (doctests, AppTest) there is no browser URL
        return None


def _view() -> tuple[str, str]:
    return repr(st.session_state.get(state.MODEL_KEY)), st.session_state.get(state.CONFIG_KEY, "")
