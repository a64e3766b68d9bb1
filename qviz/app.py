"""qviz, the Streamlit app: `qviz app` (installed) or `streamlit run app.py` (the repository).

Thin on purpose: page config, the language switch, the navigation (qviz/ui/navigation.py). Page
scripts live in qviz/views/ and read widgets -> call qviz -> render.
"""

import streamlit as st

from qviz.ui import navigation, state, text


def main() -> None:
    st.set_page_config(page_title="qviz", page_icon=":material/grid_on:", layout="wide")
    state.keep_state()
    state.init_model_state()
    text.language_switch()
    navigation.navigation().run()
    state.write_url_state()


if __name__ == "__main__":
    main()
