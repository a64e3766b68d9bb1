"""A share link can not break the app: every decoding failure of `config=` is one SpecError.

Issue 12, item 5: a compressed code inflating to 200,000 nested brackets (RecursionError in the
JSON parser) or to a 200,000-digit number (ValueError: Python's int max str digits) escaped
`config_from_code`, and every reload of the link showed Streamlit's generic error box.
"""

from __future__ import annotations

import base64
import zlib

import pytest

from qviz.config import PRESETS
from qviz.config.url import MAX_DEPTH, MAX_DIGITS, check_json_bounds, config_code, config_from_code
from qviz.quant import SpecError
from qviz_dev import hostile_models as hm

code_of = hm.link_code
NESTED, LONG_NUMBER = hm.NESTED_LINK, hm.LONG_NUMBER_LINK
HOSTILE = {
    "nested_200k": NESTED,
    "nested_objects": code_of('{"a":' * 50_000 + "1" + "}" * 50_000),
    "digits_200k": LONG_NUMBER,
    "float_digits_200k": code_of('{"version": 1.' + "5" * 200_000 + "}"),
    "truncated": config_code(PRESETS["w4g32"].with_layer("x", None).with_layer("conv1", PRESETS["w8"].default))[:-6],
    "not_utf8": "z" + base64.urlsafe_b64encode(zlib.compress(b"\xff\xfe{")).decode(),
}


def test_hostile_codes_are_small_links():
    assert len(NESTED) < 1000 and len(LONG_NUMBER) < 1000


@pytest.mark.parametrize("name", list(HOSTILE))
def test_every_decoding_failure_is_a_spec_error(name):
    with pytest.raises(SpecError) as err:
        config_from_code(HOSTILE[name])
    assert len(str(err.value)) < 300


def test_depth_and_digits_are_refused_before_parsing():
    with pytest.raises(SpecError, match=f"nested more than {MAX_DEPTH}"):
        check_json_bounds("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    with pytest.raises(SpecError, match=f"more than {MAX_DIGITS} digits"):
        check_json_bounds('{"version": ' + "1" * (MAX_DIGITS + 1) + "}")
    check_json_bounds(
        '{"layers": {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[": 1}}'
    )  # brackets in a string count for nothing


def test_a_truncated_link_says_so_in_plain_words():
    with pytest.raises(SpecError, match="incomplete"):
        config_from_code(HOSTILE["truncated"])


def test_real_configs_still_round_trip():
    cfg = PRESETS["w4g32"].with_layer("conv[1]{a}", PRESETS["w8a8"].default)
    assert config_from_code(config_code(cfg)) == cfg
