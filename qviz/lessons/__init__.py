"""Teaching computations for the Learn page (numpy only, like qviz.quant).

The page reads widgets, calls these, renders: every number it shows is computed here or in
the engine. One concept per module:

    distributions  named toy tensors, typed values
    settings       the page's settings dict -> tensor and QuantSpec
    curves         SQNR vs bits (and the 6.02 dB/bit rule), clipping vs rounding error
    explain        one value through the formula, step by step
    examples       worked examples to replay
    lesson         all of it for one settings dict (what the page caches)
"""

from qviz.lessons.curves import clip_round_curve, grid_levels, histogram, six_db_rule, sqnr_vs_bits
from qviz.lessons.distributions import DISTRIBUTIONS, make_distribution, make_tensor, parse_values
from qviz.lessons.examples import EXAMPLES_BY_KEY, WORKED_EXAMPLES, WorkedExample
from qviz.lessons.explain import explain_value, formula_latex
from qviz.lessons.lesson import Lesson, run_lesson
from qviz.lessons.settings import DEFAULTS, SIZES, SOURCES, spec_from_settings, tensor_from_settings

__all__ = [
    "DEFAULTS",
    "DISTRIBUTIONS",
    "EXAMPLES_BY_KEY",
    "SIZES",
    "SOURCES",
    "WORKED_EXAMPLES",
    "Lesson",
    "WorkedExample",
    "clip_round_curve",
    "explain_value",
    "formula_latex",
    "grid_levels",
    "histogram",
    "make_distribution",
    "make_tensor",
    "parse_values",
    "run_lesson",
    "six_db_rule",
    "spec_from_settings",
    "sqnr_vs_bits",
    "tensor_from_settings",
]
