"""The app's pages: one table, their script paths, and the navigation built from them.

Page scripts live in qviz/views/ (plain storage for st.navigation, never imported) and are named by
absolute path, so the same navigation works from the repository's `app.py` and from an installed
wheel (`qviz app`), whatever the entry script's folder.

# NOTE: not pages/: Streamlit treats a pages/ folder as an old-style multipage app until the entry
# script has run once in the server, so the first visit to a direct link (/layer) would bypass it.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from qviz.ui.text import t

VIEWS_DIR = Path(__file__).resolve().parents[1] / "views"

# (page name = script name and url path, title key, icon). A new page is one line here (and its title in i18n).
PAGES = [
    ("learn", "nav_learn", ":material/school:"),
    ("model", "nav_model", ":material/account_tree:"),
    ("layer", "nav_layer", ":material/layers:"),
    ("tune", "nav_tune", ":material/tune:"),
    ("sensitivity", "nav_sensitivity", ":material/grid_view:"),
    ("tradeoffs", "nav_tradeoffs", ":material/scatter_plot:"),
    ("export", "nav_export", ":material/download:"),
]


def page_path(name: str) -> str:
    """The absolute path of page `name`'s script (what st.switch_page and st.Page take)."""
    return str(VIEWS_DIR / f"{name}.py")


def navigation():
    """st.navigation over PAGES (the first is the default), titles in the current language."""
    pages = [
        st.Page(page_path(name), title=t(title), icon=icon, url_path=name, default=(i == 0))
        for i, (name, title, icon) in enumerate(PAGES)
    ]
    return st.navigation(pages)
