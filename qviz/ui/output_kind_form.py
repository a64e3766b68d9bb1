"""The output-kind form: how the float and quantized outputs are compared, for every page's evaluation.

Shows what qviz decided on its own (qviz.evaluate.output_kind, from the float outputs on the
data), and lets the user say otherwise: auto / classes (with the class axis) / binary / values,
and whether the scores are logits or probabilities. The choice is one override text
("classes:2:logits", the CLI's --output-kind) kept in scoring.OUTPUT_KIND_KEY: it outlives the
widgets (Streamlit drops a widget's state on a page that does not draw it) and keys the cached
evaluations (qviz.ui.scoring.evaluation).

Widget keys: output_kind_kind, output_kind_axis, output_kind_scale.
"""

from __future__ import annotations

import streamlit as st

from qviz.evaluate.output_kind import KINDS, SCALES, parse
from qviz.quant import SpecError
from qviz.ui import scoring, text
from qviz.ui.text import md_escape, t

AUTO = "auto"
AXES = (AUTO, 1, 2, 3, 4)
WIDGETS = ("output_kind_kind", "output_kind_axis", "output_kind_scale")


def compose(kind: str, axis, scale: str) -> str:
    """The override text of the three choices.

    >>> compose("classes", 2, "logits"), compose("binary", "auto", "auto"), compose("auto", 1, "logits")
    ('classes:2:logits', 'binary', 'auto')
    """
    if kind == AUTO:
        return AUTO
    parts = [kind]
    if kind == "classes" and axis != AUTO:
        parts.append(str(axis))
    if kind != "values" and scale != AUTO:
        parts.append(scale)
    return ":".join(parts)


def _store() -> None:
    """on_change: the widgets' choice becomes the session's override text."""
    s = st.session_state
    s[scoring.OUTPUT_KIND_KEY] = compose(
        s["output_kind_kind"], s.get("output_kind_axis", AUTO), s.get("output_kind_scale", AUTO)
    )


def _seed_widgets() -> None:
    """The widgets start from the stored text (after a visit to a page without them)."""
    kind, axis, scale = parse(scoring.output_kind())
    s = st.session_state
    s.setdefault("output_kind_kind", kind or AUTO)
    s.setdefault("output_kind_axis", AUTO if axis is None else axis)
    s.setdefault("output_kind_scale", scale or AUTO)


def output_kind_form(model) -> None:
    """Auto-detected kinds, the three choices, and what they give (or why they cannot apply)."""
    st.caption(t("ok_detected") + " " + " · ".join(scoring.kind_text(k) for k in scoring.output_kinds(model)))
    _seed_widgets()
    label, c = _labels(), st.columns(3)
    kind = c[0].selectbox(
        t("ok_kind"), [AUTO, *KINDS], key="output_kind_kind", on_change=_store, format_func=label, help=t("ok_help")
    )
    if kind == "classes":
        c[1].selectbox(t("ok_axis"), AXES, key="output_kind_axis", on_change=_store, format_func=label)
    if kind in ("classes", "binary"):
        c[2].selectbox(t("ok_scale"), [AUTO, *SCALES], key="output_kind_scale", on_change=_store, format_func=label)
    given = scoring.output_kind()
    if given is None:
        return
    try:
        st.caption(t("ok_given") + " " + " · ".join(scoring.kind_text(k) for k in scoring.output_kinds(model, given)))
    except SpecError as error:
        st.error(t("error_prefix", message=md_escape(str(error))))


def _labels():
    """format_func: the translated word of an option (ok_auto, ok_classes...); an axis as its number."""
    words = text.option_labels("ok_")
    return lambda value: words(value) if isinstance(value, str) else str(value)
