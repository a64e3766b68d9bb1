"""Share links through AppTest: a link qviz cannot read is a plain warning on the page it opens,
never Streamlit's error box; the sidebar offers the current link with a copy button.

Issue 12 item 5 (inflating payloads), issue 15 item 9 (copy button, truncated code, unknown sample).
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from qviz.config import PRESETS, LayerConfig
from qviz.config.url import config_code
from qviz.samples import sample_ids
from qviz_dev.app_pages import APP
from qviz_dev.hostile_models import LONG_NUMBER_LINK, NESTED_LINK
from qviz_dev.markdown_oracle import markup

CUSTOM = config_code(PRESETS["w4g32"].with_layer("fc", LayerConfig.float()))
BAD_CONFIGS = {
    "nested_200k": NESTED_LINK,
    "digits_200k": LONG_NUMBER_LINK,
    "truncated": CUSTOM[:-5],
    "garbage": "zgarbage",
}


def open_link(query: dict, page: str | None = None) -> AppTest:
    """The app as a browser opening `?query` (on `page`, else the default page): one first run."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    if page:
        at.switch_page(page)
    return at.run()


def warnings(at: AppTest) -> list[str]:
    return [str(w.value) for w in at.warning]


@pytest.mark.parametrize("name", list(BAD_CONFIGS))
@pytest.mark.parametrize("page", [None, "qviz/views/tune.py"])
def test_unreadable_config_is_a_plain_warning_on_the_page_the_link_opens(name, page):
    at = open_link({"sample": "digits_mlp", "config": BAD_CONFIGS[name]}, page)
    assert not at.exception and not at.error
    (note,) = [w for w in warnings(at) if w.startswith("The shared configuration could not be read")]
    assert note.endswith("showing the preset w8a8.") and len(note) < 300
    assert markup(note) == []
    assert at.session_state["model_config"] == PRESETS["w8a8"].to_json()
    at.run()  # a rerun (the same view) keeps saying why
    assert any(w.startswith("The shared configuration") for w in warnings(at))


def test_a_truncated_link_says_it_was_cut_short():
    at = open_link({"sample": "digits_mlp", "config": BAD_CONFIGS["truncated"]})
    assert any("incomplete" in w for w in warnings(at))


def test_unknown_sample_names_the_available_ones():
    at = open_link({"sample": "nonexistent"})
    assert not at.exception
    (note,) = [w for w in warnings(at) if "nonexistent" in w]
    assert all(sample in note.replace("\\_", "_") for sample in sample_ids())


def test_a_hostile_sample_name_is_plain_text():
    at = open_link({"sample": "[c](https://evil.example)\n# big"})
    (note,) = [w for w in warnings(at) if "evil" in w]
    assert markup(note) == []


def test_share_box_shows_the_link_with_a_copy_button():
    at = open_link({"sample": "digits_mlp", "config": CUSTOM})
    (code,) = [c.value for c in at.sidebar.code]
    assert code.endswith(f"?sample=digits_mlp&config={CUSTOM}")
    assert not warnings(at)
