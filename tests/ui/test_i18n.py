"""The translation table: both languages for every key, and every key the UI asks for exists."""

import re
import string

import pytest

from qviz.lessons import DISTRIBUTIONS, SOURCES, WORKED_EXAMPLES
from qviz.quant.spec import ESTIMATORS, GRANULARITIES, ROUNDINGS, SCHEMES
from qviz.ui import i18n
from qviz_dev import REPO

UI_FILES = [
    REPO / "app.py",
    *sorted((REPO / "qviz" / "ui").glob("*.py")),
    *sorted((REPO / "qviz" / "views").glob("*.py")),
]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(i18n.TEXT))
def test_every_key_has_both_languages(key):
    entry = i18n.TEXT[key]
    assert set(entry) == set(i18n.LANGUAGES)
    assert all(isinstance(text, str) and text.strip() for text in entry.values())
    assert placeholders(entry["en"]) == placeholders(entry["zh"])


def used_keys() -> set[str]:
    """Literal keys passed to t(...) and nav titles in the app's source files."""
    keys = set()
    for path in UI_FILES:
        source = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r'\bt\("([a-z0-9_]+)"', source))
        keys |= set(re.findall(r'"(nav_[a-z0-9_]+)"', source))
    return keys


def option_keys() -> set[str]:
    """Keys built from option values (format_func=ui.option_labels(prefix)) and worked examples."""
    families = {
        "source_": SOURCES,
        "dist_": DISTRIBUTIONS,
        "scheme_": SCHEMES,
        "round_": ROUNDINGS,
        "gran_": GRANULARITIES,
        "est_": ESTIMATORS,
        "variant_": ("settings", "compare"),
    }
    keys = {prefix + value for prefix, values in families.items() for value in values}
    return keys | {e.title for e in WORKED_EXAMPLES} | {e.text for e in WORKED_EXAMPLES}


def test_every_used_key_exists():
    assert len(used_keys()) > 50
    assert sorted((used_keys() | option_keys()) - set(i18n.TEXT)) == []


def test_missing_key_shows_a_marker_not_a_crash():
    assert i18n.translate("no_such_key", "zh") == "[[no_such_key]]"


def test_format_and_fallback():
    assert i18n.translate("levels_too_dense", "en", n=7).startswith("7 levels")
    assert i18n.translate("bits", "xx") == i18n.translate("bits", "en")
