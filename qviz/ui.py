"""The one Streamlit glue module: language, translation, session-state keys, cached helpers.

Pages import `t` and the helpers from here; nothing below qviz.ui imports streamlit.

Session-state keys:
    lang                    "en" | "zh" (the sidebar language switch)
    learn_<setting>         one per key of qviz.lessons.DEFAULTS (the Learn page's widgets)
    learn_example           (example key, "settings" | "compare") of the replayed example, or None

# NOTE: Streamlit forgets the state of a widget that was not drawn in a run (a page not
# shown, a control hidden by another choice). keep_state() re-assigns the keys at the top of
# every run, which makes them plain session values that survive (Streamlit's documented trick).
"""

from __future__ import annotations

import json

import streamlit as st

from . import i18n
from .lessons import DEFAULTS, EXAMPLES_BY_KEY, explain_value, run_lesson, spec_from_settings, tensor_from_settings

LANG_KEY = "lang"
LEARN_PREFIX = "learn_"
EXAMPLE_KEY = "learn_example"


def lang() -> str:
    return st.session_state.get(LANG_KEY, i18n.DEFAULT_LANGUAGE)


def t(key: str, **fmt) -> str:
    """Translated text for the current language (see qviz.i18n.translate)."""
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
    st.sidebar.selectbox("Language / 语言", options=list(i18n.LANGUAGES), format_func=i18n.LANGUAGES.get,
                         key=LANG_KEY)


def keep_state() -> None:
    """Re-assign the pages' setting keys, so widgets not drawn in this run keep their values."""
    for key in map(learn_key, DEFAULTS):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


# --- the Learn page's state -------------------------------------------------------------

def learn_key(name: str) -> str:
    return LEARN_PREFIX + name


def init_learn_state() -> None:
    """Fill missing Learn keys with the defaults (widgets then read their value from here)."""
    for name, value in DEFAULTS.items():
        st.session_state.setdefault(learn_key(name), value)
    st.session_state.setdefault(EXAMPLE_KEY, None)


def learn_settings() -> dict:
    return {name: st.session_state[learn_key(name)] for name in DEFAULTS}


def replay_example(key: str, variant: str) -> None:
    """Button callback: defaults, then the example's settings (and its comparison change)."""
    example = EXAMPLES_BY_KEY[key]
    settings = {**DEFAULTS, **example.settings, **(example.compare if variant == "compare" else {})}
    for name, value in settings.items():
        st.session_state[learn_key(name)] = value
    st.session_state[EXAMPLE_KEY] = (key, variant)


def forget_example() -> None:
    """Widget on_change callback: the settings no longer are the replayed example's."""
    st.session_state[EXAMPLE_KEY] = None


# --- cached computations (keyed by the settings as canonical JSON) -------------------------

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
