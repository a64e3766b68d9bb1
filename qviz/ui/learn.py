"""The Learn page's state (one session key per lesson setting) and its cached computations.

Session-state keys:
    learn_<setting>    one per key of qviz.lessons.DEFAULTS (the Learn page's widgets)
    learn_example      (example key, "settings" | "compare") of the replayed example, or None

Lessons are cached by the settings as canonical JSON (the explained value is not part of it).
"""

from __future__ import annotations

import json

import streamlit as st

from qviz.lessons import DEFAULTS, EXAMPLES_BY_KEY, explain_value, run_lesson, spec_from_settings, tensor_from_settings
from qviz.ui.text import t

LEARN_PREFIX = "learn_"
EXAMPLE_KEY = "learn_example"


def learn_key(name: str) -> str:
    return LEARN_PREFIX + name


def init_learn_state() -> None:
    """Fill missing Learn keys with the defaults (widgets then read their value from here)."""
    for name, value in DEFAULTS.items():
        st.session_state.setdefault(learn_key(name), value)
    st.session_state.setdefault(EXAMPLE_KEY, None)


def learn_settings() -> dict:
    return {name: st.session_state[learn_key(name)] for name in DEFAULTS}


def example_settings(key: str, variant: str) -> dict:
    """Defaults, then the example's settings (and, for variant "compare", its one change)."""
    example = EXAMPLES_BY_KEY[key]
    return {**DEFAULTS, **example.settings, **(example.compare if variant == "compare" else {})}


def compared_example() -> str | None:
    """The key of the example whose "Compare" was clicked last (both sides are shown), else None."""
    active = st.session_state.get(EXAMPLE_KEY)
    return active[0] if active is not None and active[1] == "compare" else None


def replay_example(key: str, variant: str) -> None:
    """Button callback: the example's settings (example_settings) into the Learn widgets."""
    settings = example_settings(key, variant)
    for name, value in settings.items():
        st.session_state[learn_key(name)] = value
    st.session_state[EXAMPLE_KEY] = (key, variant)


def forget_example() -> None:
    """Widget on_change callback: the settings no longer are the replayed example's."""
    st.session_state[EXAMPLE_KEY] = None


def settings_key(settings: dict) -> str:
    return json.dumps(settings, sort_keys=True)


@st.cache_data(max_entries=64, show_spinner=False)
def _lesson(settings_json: str):
    return run_lesson(json.loads(settings_json))


@st.cache_data(max_entries=256, show_spinner=False)
def _explanation(settings_json: str, value: float):
    settings = json.loads(settings_json)
    return explain_value(value, tensor_from_settings(settings), spec_from_settings(settings))


def cached_lesson(settings: dict):
    """run_lesson(settings), cached; the explained value is not part of the key."""
    return _lesson(settings_key({**settings, "value": None}))


def cached_explanation(settings: dict):
    return _explanation(settings_key({**settings, "value": None}), float(settings["value"]))


# The words inside the formulas' \text{...} (qviz.lessons.explain writes them in English) and their keys.
FORMULA_WORDS = {
    "nearest level": "fx_nearest_level",
    "code": "fx_code",
    "symmetric, signed": "fx_symmetric_signed",
    "symmetric: middle code": "fx_symmetric_middle",
}


def translate_formula(latex: str) -> str:
    """`latex` with each \\text{word} of FORMULA_WORDS in the page's language (the math stays).

    KaTeX draws CJK inside \\text{} (text mode), so only the words change, never the layout.
    """
    for word, key in FORMULA_WORDS.items():
        latex = latex.replace(rf"\text{{{word}}}", rf"\text{{{t(key)}}}")
    return latex
