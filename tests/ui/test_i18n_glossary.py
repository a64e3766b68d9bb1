"""The zh glossary (qviz.ui.i18n.GLOSSARY) and its use: clipping and truncation never share a
translation, and every checked term is used exactly where its English idea is (issue 15 item 11)."""

import re

import pytest

from qviz.samples import list_samples
from qviz.ui import i18n

CHECKED = [row for row in i18n.GLOSSARY if row[4] is not None]


def texts() -> list[tuple[str, str, str]]:
    """(where, en, zh) of every translation-table entry and every sample card's lesson."""
    rows = [(key, entry["en"], entry["zh"]) for key, entry in i18n.TEXT.items()]
    rows += [(f"card {s.id}", s.card["lesson"]["en"], s.card["lesson"]["zh"]) for s in list_samples()]
    return rows


def by_term(term: str) -> str:
    return next(row[2] for row in i18n.GLOSSARY if row[0] == term)


def test_clipping_and_truncation_never_share_a_translation():
    clip, trunc = by_term("clipping"), by_term("truncation")
    assert clip != trunc and clip not in trunc and trunc not in clip
    assert len({row[2] for row in CHECKED}) == len(CHECKED)  # no two checked ideas share a word


def test_the_glossary_is_one_table_of_term_english_chinese_where():
    assert all(len(row) == 5 and all(isinstance(x, str) and x for x in row[:4]) for row in i18n.GLOSSARY)
    assert {"clipping", "truncation", "saturation", "rounding"} <= {row[0] for row in i18n.GLOSSARY}


@pytest.mark.parametrize("term, _en, zh, _where, pattern", CHECKED, ids=[row[0] for row in CHECKED])
def test_a_checked_term_is_used_exactly_where_its_english_is(term, _en, zh, _where, pattern):
    missing = [where for where, en, z in texts() if re.search(pattern, en) and zh not in z]
    stray = [where for where, en, z in texts() if zh in z and not re.search(pattern, en)]
    assert missing == [], f"English says {term} but the zh text lacks {zh}"
    assert stray == [], f"zh uses {zh} where the English says no {term}"


def test_no_zh_string_says_truncation_where_the_english_says_clip():
    assert [where for where, en, zh in texts() if "截断" in zh and re.search(r"(?i)\bclip", en)] == []
