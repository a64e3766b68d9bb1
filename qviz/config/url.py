"""The configuration of a bundled sample in a URL: ?sample=<id>&config=<code>.

    >>> config_code(PRESETS["w8a8"])                 # a preset is its name
    'w8a8'
    >>> from qviz.config import LayerConfig
    >>> cfg = PRESETS["w8a8"].with_layer("conv1", LayerConfig.float())
    >>> code = config_code(cfg)                      # anything else: "z" + base64url(zlib(JSON))
    >>> code[0], config_from_code(code) == cfg
    ('z', True)

Decoding is capped (MAX_CODE characters, MAX_JSON bytes after inflating: a link cannot make
the server inflate a bomb) and validated by ModelConfig.from_json; failures are SpecErrors.
"""

from __future__ import annotations

import base64
import binascii
import zlib

from qviz.config import PRESETS, ModelConfig
from qviz.quant.spec import SpecError

MAX_CODE = 8000
MAX_JSON = 256 * 1024


def config_code(config: ModelConfig) -> str:
    """A preset's name if config equals it, else "z" + base64url(zlib(canonical JSON))."""
    text = config.to_json()
    for name, preset in PRESETS.items():
        if preset.to_json() == text:
            return name
    return "z" + base64.urlsafe_b64encode(zlib.compress(text.encode(), 9)).decode().rstrip("=")


def config_from_code(code: str) -> ModelConfig:
    """Inverse of config_code; SpecError for anything malformed or too large."""
    if code in PRESETS:
        return PRESETS[code]
    if not code.startswith("z") or len(code) > MAX_CODE:
        raise SpecError(f"config in the URL must be a preset name ({', '.join(PRESETS)}) or a qviz config code")
    try:
        raw = base64.urlsafe_b64decode(code[1:] + "=" * (-len(code[1:]) % 4))
        inflater = zlib.decompressobj()
        text = inflater.decompress(raw, MAX_JSON)
    except (binascii.Error, ValueError, zlib.error):
        raise SpecError("config in the URL is not a valid qviz config code") from None
    if inflater.unconsumed_tail:
        raise SpecError(f"config in the URL is larger than {MAX_JSON // 1024} kB")
    return ModelConfig.from_json(text.decode("utf-8", errors="replace"))
