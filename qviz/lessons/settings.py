"""The Learn page's settings: one flat dict of plain values -> a tensor and a QuantSpec.

The page's widgets hold exactly these keys (prefixed "learn_" in session state), the worked
examples are partial dicts of them, and a settings dict is the cache key of a lesson.

    >>> spec_from_settings({**DEFAULTS, "bits": 4, "estimator": "percentile"}).bits
    4
"""

from __future__ import annotations

import numpy as np

from qviz.lessons.distributions import make_tensor, parse_values
from qviz.quant import QuantSpec

DEFAULTS = {
    # the tensor
    "source": "distribution",  # distribution | typed
    "distribution": "normal",
    "n": 2048,
    "seed": 0,
    "channels": 8,
    "channel_spread": 1.0,
    "values": "-1, 0.5, 1",
    # the scheme
    "scheme": "int",
    "bits": 8,
    "signed": True,
    "symmetric": True,
    "restricted_range": False,
    "pow2_scale": False,
    "frac_bits": 4,
    "float_format": "float8_e4m3fn",
    "rounding": "half_even",
    "estimator": "minmax",
    "percentile": 99.9,
    "sigmas": 0.0,  # 0 means "choose k from bits" (QuantSpec.sigmas=None)
    "range_min": -1.0,
    "range_max": 1.0,
    "granularity": "tensor",
    "group_size": 32,
    # the value whose quantization is worked out step by step
    "value": 0.5,
}

SOURCES = ("distribution", "typed")
SIZES = (16, 64, 256, 1024, 2048, 4096, 16384, 65536)

_SPEC_KEYS = (
    "scheme",
    "bits",
    "signed",
    "symmetric",
    "restricted_range",
    "pow2_scale",
    "frac_bits",
    "float_format",
    "rounding",
    "estimator",
    "percentile",
    "granularity",
    "group_size",
)


def spec_from_settings(settings: dict) -> QuantSpec:
    """Build the QuantSpec (SpecError on an impossible combination, e.g. restricted + asymmetric).

    Channels are rows (axis 0); groups run along a row (axis 1), as for a weight matrix [out, in].
    """
    fields = {key: settings[key] for key in _SPEC_KEYS}
    fields["bits"] = int(fields["bits"])
    fields["frac_bits"] = int(fields["frac_bits"])
    fields["group_size"] = int(fields["group_size"])
    fields["percentile"] = float(fields["percentile"])
    fields["axis"] = 1 if settings["granularity"] == "group" else 0
    fields["sigmas"] = float(settings["sigmas"]) or None
    if settings["estimator"] == "manual":
        fields["range_min"] = float(settings["range_min"])
        fields["range_max"] = float(settings["range_max"])
    return QuantSpec(**fields)


def tensor_from_settings(settings: dict) -> np.ndarray:
    """The 2-D toy tensor [channels, values per channel] (typed values: one row)."""
    if settings["source"] == "typed":
        return parse_values(settings["values"])
    return make_tensor(
        settings["distribution"],
        int(settings["n"]),
        int(settings["seed"]),
        int(settings["channels"]),
        float(settings["channel_spread"]),
    )
