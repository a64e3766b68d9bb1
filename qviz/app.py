"""qviz, the Streamlit app: `qviz app` (installed) or `streamlit run app.py` (the repository).

Thin on purpose: page config, the language switch, the link's warnings and share box
(qviz/ui/share.py), the navigation (qviz/ui/navigation.py). Page
scripts live in qviz/views/ and read widgets -> call qviz -> render.
"""

import streamlit as st

from qviz.ui import navigation, share, state, text


def main() -> None:
    st.set_page_config(page_title="qviz", page_icon=":material/grid_on:", layout="wide")
    state.keep_state()
    first_run = not st.session_state.get(state.URL_READ_KEY)
    state.init_model_state()
    share.note_link_problems(first_run)
    text.language_switch()
    share.show_link_warnings()  # on whatever page the link opens, above it
    navigation.navigation().run()
    state.write_url_state()
    share.share_box()


if __name__ == "__main__":
    main()
