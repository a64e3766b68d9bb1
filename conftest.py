"""Repository-wide pytest setup, for `pytest --doctest-modules qviz` (the docstring examples).

The Streamlit scripts (app.py, qviz/app.py and the pages in qviz/views/) render a page when
imported, so --doctest-modules must not import them: they are ignored here. Their logic lives in
qviz/ui and below, whose examples do run.

Every doctest namespace also holds `np` (numpy), the one name nearly all examples use.
"""

from __future__ import annotations

import numpy as np
import pytest

collect_ignore = ["app.py", "qviz/app.py"]
collect_ignore_glob = ["qviz/views/*.py"]


@pytest.fixture(scope="session", autouse=True)
def _doctest_numpy(doctest_namespace):
    doctest_namespace["np"] = np
