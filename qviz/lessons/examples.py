"""Worked examples: widget settings to replay, and the lesson each one teaches.

Each example has a "try" setting and a "compare" setting that differs in one idea; the page
replays either with one click. `title` and `text` are translation keys (qviz.ui.i18n).
Settings are partial: keys not given take settings.DEFAULTS.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WorkedExample:
    key: str
    title: str  # translation key of the short title
    text: str  # translation key of the expected outcome
    settings: dict  # partial settings (see settings.DEFAULTS)
    compare: dict = field(default_factory=dict)  # the one change to compare against


WORKED_EXAMPLES = (
    WorkedExample(
        "code191",
        "ex_code191_title",
        "ex_code191_text",
        settings={
            "source": "typed",
            "values": "-1, 0.5, 1",
            "scheme": "int",
            "bits": 8,
            "signed": False,
            "symmetric": False,
            "estimator": "minmax",
            "granularity": "tensor",
            "value": 0.5,
        },
        compare={"signed": True, "symmetric": True},
    ),
    WorkedExample(
        "truncation",
        "ex_trunc_title",
        "ex_trunc_text",
        settings={
            "source": "distribution",
            "distribution": "uniform",
            "n": 4096,
            "bits": 4,
            "estimator": "minmax",
            "rounding": "half_even",
            "granularity": "tensor",
        },
        compare={"rounding": "trunc"},
    ),
    WorkedExample(
        "relu",
        "ex_relu_title",
        "ex_relu_text",
        settings={
            "source": "distribution",
            "distribution": "relu",
            "n": 4096,
            "bits": 8,
            "signed": True,
            "symmetric": True,
            "estimator": "minmax",
            "granularity": "tensor",
        },
        compare={"signed": False, "symmetric": False},
    ),
    WorkedExample(
        "outliers",
        "ex_outlier_title",
        "ex_outlier_text",
        settings={
            "source": "distribution",
            "distribution": "outliers",
            "n": 4096,
            "bits": 4,
            "estimator": "minmax",
            "granularity": "tensor",
        },
        compare={"estimator": "percentile", "percentile": 99.0},
    ),
    WorkedExample(
        "per_channel",
        "ex_channel_title",
        "ex_channel_text",
        settings={
            "source": "distribution",
            "distribution": "normal",
            "n": 4096,
            "channels": 8,
            "channel_spread": 20.0,
            "bits": 4,
            "estimator": "minmax",
            "granularity": "tensor",
        },
        compare={"granularity": "channel"},
    ),
)

EXAMPLES_BY_KEY = {example.key: example for example in WORKED_EXAMPLES}
