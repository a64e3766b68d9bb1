"""Learn: quantize one tensor and see every number. Reads widgets -> calls qviz -> renders."""

from typing import Any, Literal

import streamlit as st

from qviz.lessons import (
    DISTRIBUTIONS,
    EXAMPLES_BY_KEY,
    SIZES,
    SOURCES,
    WORKED_EXAMPLES,
    formula_latex,
    integer_walkthrough,
)
from qviz.lessons.exercises import EXERCISES
from qviz.plots import histogram_figure, sqnr_bits_figure
from qviz.quant.spec import ESTIMATORS, FLOAT_FORMATS, GRANULARITIES, ROUNDINGS, SCHEMES
from qviz.ui import deltas, figures, learn, messages, model_card, models, text
from qviz.ui import intonly as io

t, k = text.t, learn.learn_key
CHANGED: dict[str, Any] = dict(on_change=learn.forget_example)
DeltaColour = Literal["normal", "inverse", "off"]  # st.metric: which way is better


def tensor_controls() -> None:
    st.subheader(t("tensor_header"))
    st.radio(
        t("source"), SOURCES, format_func=text.option_labels("source_"), key=k("source"), horizontal=True, **CHANGED
    )
    if st.session_state[k("source")] == "typed":
        st.text_area(t("values"), key=k("values"), help=t("values_help"), **CHANGED)
        return
    st.selectbox(
        t("distribution"), DISTRIBUTIONS, format_func=text.option_labels("dist_"), key=k("distribution"), **CHANGED
    )
    st.select_slider(t("size"), SIZES, key=k("n"), **CHANGED)
    st.number_input(t("seed"), min_value=0, max_value=10**6, step=1, key=k("seed"), **CHANGED)
    st.slider(t("channels"), 1, 16, key=k("channels"), help=t("channels_help"), **CHANGED)
    st.slider(t("channel_spread"), 1.0, 50.0, key=k("channel_spread"), help=t("channel_spread_help"), **CHANGED)


def scheme_controls() -> None:
    st.subheader(t("scheme_header"))
    st.selectbox(t("scheme"), SCHEMES, format_func=text.option_labels("scheme_"), key=k("scheme"), **CHANGED)
    scheme = st.session_state[k("scheme")]
    if scheme == "float":
        st.selectbox(t("float_format"), FLOAT_FORMATS, key=k("float_format"), **CHANGED)
    else:
        st.slider(t("bits"), 1, 16, key=k("bits"), **CHANGED)
    if scheme == "int":
        st.checkbox(t("signed"), key=k("signed"), **CHANGED)
        st.checkbox(t("symmetric"), key=k("symmetric"), **CHANGED)
        st.checkbox(t("restricted_range"), key=k("restricted_range"), help=t("restricted_help"), **CHANGED)
        st.checkbox(t("pow2_scale"), key=k("pow2_scale"), **CHANGED)
    if scheme == "fixed_point":
        st.number_input(t("frac_bits"), min_value=0, max_value=32, step=1, key=k("frac_bits"), **CHANGED)
    if scheme in ("int", "fixed_point"):  # the other schemes take the nearest level (or a float cast)
        st.selectbox(t("rounding"), ROUNDINGS, format_func=text.option_labels("round_"), key=k("rounding"), **CHANGED)
    if scheme in ("int", "log"):
        estimator_controls()
    st.selectbox(
        t("granularity"), GRANULARITIES, format_func=text.option_labels("gran_"), key=k("granularity"), **CHANGED
    )
    if st.session_state[k("granularity")] == "group":
        st.number_input(t("group_size"), min_value=1, max_value=65536, step=1, key=k("group_size"), **CHANGED)


def estimator_controls() -> None:
    st.selectbox(t("estimator"), ESTIMATORS, format_func=text.option_labels("est_"), key=k("estimator"), **CHANGED)
    estimator = st.session_state[k("estimator")]
    if estimator == "percentile":
        st.slider(t("percentile"), 90.0, 100.0, step=0.01, key=k("percentile"), **CHANGED)
    elif estimator == "sigma":
        st.number_input(
            t("sigmas"), min_value=0.0, max_value=20.0, step=0.5, key=k("sigmas"), help=t("sigmas_help"), **CHANGED
        )
    elif estimator == "manual":
        st.number_input(t("range_min"), step=0.1, key=k("range_min"), **CHANGED)
        st.number_input(t("range_max"), step=0.1, key=k("range_max"), **CHANGED)


def examples_panel() -> None:
    with st.expander(t("examples_header"), expanded=st.session_state[learn.EXAMPLE_KEY] is not None):
        for example in WORKED_EXAMPLES:
            label, replay, compare = st.columns([6, 1, 1], vertical_alignment="center")
            label.markdown(f"**{t(example.title)}**")
            replay.button(
                t("replay"), key=f"example_{example.key}", on_click=learn.replay_example, args=(example.key, "settings")
            )
            compare.button(
                t("compare"),
                key=f"example_{example.key}_compare",
                on_click=learn.replay_example,
                args=(example.key, "compare"),
            )
    active = st.session_state[learn.EXAMPLE_KEY]
    if active is not None:
        example = EXAMPLES_BY_KEY[active[0]]
        st.info(f"**{t(example.title)}** ({t('variant_' + active[1])}) — {t(example.text)}")


def metrics_row(lesson, baseline=None, per_row: int = 5) -> None:
    """The lesson's numbers; with `baseline` (the other side of a comparison), each change as a delta
    (None when it rounds to 0: qviz.ui.deltas). Lower MSE and clipping are better: inverse colours."""
    result, ref = lesson.result, baseline if baseline is not None else lesson

    def change(now: float, before: float, fmt: str, unit: str = "") -> str | None:
        return None if baseline is None else deltas.delta_text(now - before, fmt, unit)

    cells: list[tuple[str, str, str | None, DeltaColour]] = [
        (t("metric_mse"), f"{result.mse:.4g}", change(result.mse, ref.result.mse, "+.3g"), "inverse"),
        (t("metric_sqnr"), f"{lesson.sqnr_db:.2f} dB", change(lesson.sqnr_db, ref.sqnr_db, "+.2f", " dB"), "normal"),
        (
            t("metric_clipped"),
            f"{result.clipped_fraction:.2%}",
            change(result.clipped_fraction, ref.result.clipped_fraction, "+.2%"),
            "inverse",
        ),
        (t("metric_scale"), "—" if lesson.scale is None else f"{lesson.scale:.6g}", None, "off"),
        (t("metric_zero_point"), "—" if lesson.zero_point is None else str(lesson.zero_point), None, "off"),
    ]
    for start in range(0, len(cells), per_row):
        for col, (label, value, delta, colour) in zip(
            st.columns(per_row), cells[start : start + per_row], strict=False
        ):
            col.metric(label, value, delta, delta_color=colour)
    st.caption(t("metric_split", clip=f"{result.clip_mse:.3g}", round=f"{result.round_mse:.3g}"))


def compare_section(key: str) -> None:
    """A worked example's two settings side by side: the replayed one and its one change."""
    example = EXAMPLES_BY_KEY[key]
    st.subheader(t("compare_header"))
    lessons = {
        variant: learn.cached_lesson(learn.example_settings(key, variant)) for variant in ("settings", "compare")
    }
    changed = ", ".join(f"{name} = {value}" for name, value in example.compare.items())
    for col, variant in zip(st.columns(2), lessons, strict=True):
        with col:
            st.markdown(f"**{t('compare_' + variant)}**" + (f" ({changed})" if variant == "compare" else ""))
            metrics_row(lessons[variant], lessons["settings"] if variant == "compare" else None, per_row=3)
            histogram_section(lessons[variant], chart_key=f"learn_compare_{variant}")


def histogram_section(lesson, chart_key: str | None = None) -> None:
    labels = {
        "title": t("hist_title"),
        "x": t("hist_x"),
        "y": t("hist_y"),
        "values": t("hist_values"),
        "levels": t("hist_levels"),
        "clip": t("hist_clip"),
    }
    fig = histogram_figure(lesson.counts, lesson.edges, lesson.levels, lesson.thresholds, labels)
    st.plotly_chart(fig, key=chart_key)
    note = t("levels_too_dense", n=lesson.levels_in_view) if not len(lesson.levels) and lesson.levels_in_view else ""
    first = t("first_group_note") if lesson.spec.granularity != "tensor" else ""
    if note or first:
        st.caption(" ".join(filter(None, [note, first])))


def codes_section(lesson) -> None:
    st.subheader(t("codes_header"))
    table = lesson.table
    st.dataframe(
        {t("col_x"): table["x"], t("col_q"): table["q"], t("col_x_dq"): table["x_dq"], t("col_error"): table["error"]},
        hide_index=True,
    )


def formula_section(lesson, settings: dict) -> None:
    st.subheader(t("formula_header"))
    st.number_input(t("value"), step=0.1, format="%.6g", key=k("value"), **CHANGED)
    explanation = learn.cached_explanation(settings)
    for line in formula_latex(explanation, lesson.spec):
        st.latex(learn.translate_formula(line))
    code = "—" if explanation["q"] is None else explanation["q"]
    st.markdown(t("formula_summary", x=f"{explanation['x']:.6g}", q=code, x_hat=f"{explanation['x_hat']:.6g}"))
    if lesson.spec.granularity != "tensor":
        st.caption(t("first_group_note"))


def curves_section(lesson) -> None:
    left, right = st.columns(2)
    with left:
        if len(lesson.bits):
            labels = {
                "title": t("sqnr_title"),
                "x": t("bits"),
                "y": t("sqnr_y"),
                "measured": t("sqnr_measured"),
                "rule": t("sqnr_rule"),
                "current": t("sqnr_current"),
            }
            st.plotly_chart(
                sqnr_bits_figure(lesson.bits, lesson.sqnr_by_bits, lesson.rule_db, lesson.spec.bits, labels)
            )
            st.caption(t("sqnr_note"))
        else:
            st.info(t("sqnr_na"))
    with right:
        if len(lesson.clip_thresholds):
            st.plotly_chart(
                figures.split_fig(lesson.clip_thresholds, lesson.clip_mse, lesson.round_mse, lesson.chosen_threshold)
            )
            st.caption(t("split_note"))
        else:
            st.info(t("split_na"))


def intonly_section() -> None:
    with st.expander(t("io_header")):
        st.caption(t("io_intro"))
        model = models.current_model()
        layer_ids = io.walk_layers(model)
        if not layer_ids:
            st.info(t("io_no_layer"))
            return
        st.text(t("io_model", name=model_card.display_name(model)))
        with messages.show_errors():  # an upload's calibration run is in its worker
            walkthrough(model, layer_ids)


def walkthrough(model, layer_ids: list[str]) -> None:
    """The integer-only walkthrough of the chosen layer, step by step (qviz.ui.intonly)."""
    layer_id = st.selectbox(t("io_layer"), layer_ids, key=io.LAYER_KEY)
    left, right = st.columns(2)
    rows = io.row_count(model, layer_id)
    st.session_state[io.IMAGE_KEY] = min(int(st.session_state[io.IMAGE_KEY]), rows - 1)
    left.number_input(t("io_image"), min_value=0, max_value=rows - 1, step=1, key=io.IMAGE_KEY)
    right.checkbox(t("io_per_channel"), key=io.PER_CHANNEL_KEY)
    walk = io.walkthrough(
        model, layer_id, int(st.session_state[io.IMAGE_KEY]), bool(st.session_state[io.PER_CHANNEL_KEY])
    )
    r = walk["r"]
    op_type = next(x.op_type for x in model.layers if x.id == layer_id)
    st.text(t("io_layer_line", op=op_type, shape=tuple(r.w_q.shape), rows=rows))
    st.markdown(t("io_step_input", sx=f"{r.sx:.6g}", zx=r.zx))
    st.dataframe(integer_walkthrough.input_table(r), hide_index=True)
    st.markdown(t("io_step_weights", n=r.sw.size))
    st.dataframe(integer_walkthrough.weight_table(r), hide_index=True)
    st.markdown(t("io_step_acc"))
    st.latex(r"\mathrm{acc}_j = \sum_k (x_{q,k} - z_x)\,W_{q,jk} + b_{q,j},\quad b_q = \mathrm{round}(b / (s_x s_w))")
    st.markdown(t("io_step_m"))
    st.latex(r"M = \frac{s_x s_w}{s_y} = M_0 \cdot 2^{-31} \cdot 2^{-n}")
    st.dataframe(integer_walkthrough.multiplier_rows(r), hide_index=True)
    st.markdown(t("io_step_out", sy=f"{r.sy:.6g}", zy=r.zy))
    st.dataframe(integer_walkthrough.output_table(r), hide_index=True)
    badges(walk, r)


def badges(walk: dict, r) -> None:
    exact = walk["matmul_same"] == walk["n"] and walk["conv_same"] == walk["n"]
    show = st.success if exact else st.warning
    show(
        t("io_badge", yes=t("yes") if exact else t("no"), same=walk["matmul_same"], conv=walk["conv_same"], n=walk["n"])
    )
    st.caption(t("io_fixed_note", diff=r.fixed_diff, n=walk["n"]))


def exercises_section() -> None:
    with st.expander(t("ex_header")):
        for exercise in EXERCISES:
            exercise_block(exercise)


def exercise_block(exercise) -> None:
    key = exercise.key
    st.markdown(f"**{t(io.question_key(key))}**")
    labels = [f"~{o:g} {exercise.unit}" for o in exercise.options]
    st.radio(
        t("ex_pick"),
        range(len(labels)),
        format_func=labels.__getitem__,
        key=io.answer_key(key),
        index=None,
        horizontal=True,
        on_change=io.hide_reveal,
        args=(key,),
    )
    st.button(t("ex_reveal"), key=f"ex_{key}_button", on_click=io.mark_revealed, args=(key,))
    if st.session_state.get(io.revealed_key(key)):
        result = io.exercise_reveal(key)
        picked = st.session_state.get(io.answer_key(key))
        verdict = t("ex_right") if picked == result.correct else t("ex_wrong", answer=labels[result.correct])
        show = st.success if picked == result.correct else st.info
        show(t("ex_result", value=f"{result.value:.2f} {exercise.unit}", verdict=verdict))
        st.caption(t(io.explain_key(key)))


learn.init_learn_state()
io.init_intonly_state()
st.title(t("learn_title"))
st.caption(t("learn_intro"))
with st.sidebar:
    tensor_controls()
    scheme_controls()
examples_panel()

settings = learn.learn_settings()
with messages.show_errors(stop=True), st.spinner(t("computing")):
    lesson = learn.cached_lesson(settings)

compared = learn.compared_example()
if compared is not None:  # both sides of the comparison; the sections below follow the widgets
    with messages.show_errors():
        compare_section(compared)
else:
    metrics_row(lesson)
    histogram_section(lesson)
codes_col, formula_col = st.columns([2, 3])
with codes_col:
    codes_section(lesson)
with formula_col, messages.show_errors():
    formula_section(lesson, settings)
curves_section(lesson)
intonly_section()
exercises_section()
