"""qviz, the Streamlit app. Run: streamlit run app.py

Thin on purpose: page config, the language switch, the navigation. Page scripts live in views/
(plain storage for st.navigation) and read widgets -> call qviz -> render.

# NOTE: not pages/: Streamlit treats a pages/ folder as an old-style multipage app until app.py
# has run once in the server, so the first visit to a direct link (/layer) would bypass this file.
"""

import streamlit as st

from qviz import ui

# (script, title key, icon, url path). A new page is one line here (and its title in qviz/i18n.py).
PAGES = [
    ("views/learn.py", "nav_learn", ":material/school:", "learn"),
    ("views/model.py", "nav_model", ":material/account_tree:", "model"),
    ("views/layer.py", "nav_layer", ":material/layers:", "layer"),
    ("views/tune.py", "nav_tune", ":material/tune:", "tune"),
    ("views/sensitivity.py", "nav_sensitivity", ":material/grid_view:", "sensitivity"),
    ("views/tradeoffs.py", "nav_tradeoffs", ":material/scatter_plot:", "tradeoffs"),
    ("views/export.py", "nav_export", ":material/download:", "export"),
]

st.set_page_config(page_title="qviz", page_icon=":material/grid_on:", layout="wide")
ui.keep_state()
ui.init_model_state()
ui.language_switch()
navigation = st.navigation(
    [st.Page(path, title=ui.t(title), icon=icon, url_path=url, default=(i == 0)) for i, (path, title, icon, url) in enumerate(PAGES)]
)
navigation.run()
ui.write_url_state()
