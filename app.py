"""The repository's entry for `streamlit run app.py` (make run); the app itself is qviz/app.py."""

from qviz.app import main

main()
