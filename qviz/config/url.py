"""The configuration of a bundled sample in a URL: ?sample=<id>&config=<code>.

    >>> config_code(PRESETS["w8a8"])                 # a preset is its name
    'w8a8'
    >>> from qviz.config import LayerConfig
    >>> cfg = PRESETS["w8a8"].with_layer("conv1", LayerConfig.float())
    >>> code = config_code(cfg)                      # anything else: "z" + base64url(zlib(JSON))
    >>> code[0], config_from_code(code) == cfg
    ('z', True)

Decoding is capped (MAX_CODE characters, MAX_JSON bytes after inflating: a link cannot make
the server inflate a bomb), bounded before the JSON parser sees it (MAX_DEPTH nesting, MAX_DIGITS
digits per number: 200,000 nested brackets make Python's parser raise RecursionError, a
200,000-digit number its int-conversion ValueError) and validated by ModelConfig.from_json.
Every failure is a SpecError in plain words, so a page shows it as a warning:

    >>> config_from_code("z" + config_code(PRESETS["w4g32"].with_layer("a", None))[1:-4])
    Traceback (most recent call last):
    qviz.quant.spec.SpecError: the link is incomplete (it was probably cut short when copied)
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib

import numpy as np

from qviz.config import PRESETS, ModelConfig
from qviz.quant.spec import SpecError

MAX_CODE = 8000
MAX_JSON = 256 * 1024
MAX_DEPTH = 16  # a config nests 4 deep (config > layers > layer > spec)
MAX_DIGITS = 40  # bits, group sizes and percentiles are short; float64's repr needs 17 digits

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_LONG_NUMBER = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")


def config_code(config: ModelConfig) -> str:
    """A preset's name if config equals it, else "z" + base64url(zlib(canonical JSON))."""
    text = config.to_json()
    for name, preset in PRESETS.items():
        if preset.to_json() == text:
            return name
    return "z" + base64.urlsafe_b64encode(zlib.compress(text.encode(), 9)).decode().rstrip("=")


def config_from_code(code: str) -> ModelConfig:
    """Inverse of config_code; SpecError (plain words) for anything malformed, cut short or too large."""
    if code in PRESETS:
        return PRESETS[code]
    if not code.startswith("z") or len(code) > MAX_CODE:
        raise SpecError(f"it is neither a preset name ({', '.join(PRESETS)}) nor a qviz config code")
    body = code[1:]
    if len(body) % 4 == 1:  # one trailing character holds no whole byte: the link was cut there
        body = body[:-1]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        inflater = zlib.decompressobj()
        data = inflater.decompress(raw, MAX_JSON)
    except (binascii.Error, ValueError, zlib.error):
        raise SpecError("the code in the link is damaged (it does not decode)") from None
    if inflater.unconsumed_tail:
        raise SpecError(f"the configuration in the link is larger than {MAX_JSON // 1024} kB")
    if not inflater.eof:
        raise SpecError("the link is incomplete (it was probably cut short when copied)")
    text = data.decode("utf-8", errors="replace")
    check_json_bounds(text)
    try:
        return ModelConfig.from_json(text)
    except SpecError:
        raise
    except (ValueError, RecursionError, MemoryError) as error:  # the bounds above should make these unreachable
        raise SpecError(f"the configuration in the link is not valid ({type(error).__name__})") from None


def check_json_bounds(text: str) -> None:
    """SpecError when JSON `text` nests deeper than MAX_DEPTH or holds a number longer than
    MAX_DIGITS digits; strings count for nothing (a layer id may contain brackets). One linear
    pass, before any parser recurses or converts.

    >>> check_json_bounds('{"layers": {"conv[1]": {}}}')
    >>> check_json_bounds("[" * 17)
    Traceback (most recent call last):
    qviz.quant.spec.SpecError: the configuration in the link is nested more than 16 levels deep
    """
    bare = _JSON_STRING.sub('""', text)
    if _LONG_NUMBER.search(bare):
        raise SpecError(f"the configuration in the link holds a number with more than {MAX_DIGITS} digits")
    chars = np.frombuffer(bare.encode("ascii", errors="replace"), np.uint8)
    steps = np.isin(chars, (ord("["), ord("{"))).astype(np.int64) - np.isin(chars, (ord("]"), ord("}")))
    if steps.size and int(np.cumsum(steps).max()) > MAX_DEPTH:
        raise SpecError(f"the configuration in the link is nested more than {MAX_DEPTH} levels deep")
