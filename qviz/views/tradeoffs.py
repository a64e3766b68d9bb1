"""Trade-offs: every config evaluated in this session (and the fp32 baseline); quality vs size, the front of
those axes (latency as colour once measured), restore, name, diff."""

import streamlit as st

from qviz.ui import messages, model_card, models, scoring, state, text, tradeoffs

t = text.t


def point_label(df, i: int) -> str:
    return f"#{i} {df['label'][i]}"


def chosen_point(df) -> int | None:
    """The point clicked in the scatter (plotly on_select), if any."""
    event = st.session_state.get("trade_plot")
    points = event.selection.points if event is not None else []
    if points:
        i = int(points[0].get("customdata", points[0].get("point_index", -1)))
        return i if 0 <= i < len(df) else None
    return None


def restore_section(df) -> None:
    options = list(range(len(df)))
    clicked = chosen_point(df)
    if clicked is not None and clicked != st.session_state.get("trade_clicked"):
        st.session_state["trade_restore"] = clicked  # a new click picks the point; the selectbox can still change it
    st.session_state["trade_clicked"] = clicked
    i = st.selectbox(t("to_pick"), options, key="trade_restore", format_func=lambda i: point_label(df, i))
    current = state.config_json()
    st.button(
        t("to_restore"),
        on_click=tradeoffs.restore_config,
        args=(df["config"][i],),
        disabled=df["config"][i] == current,
        key="trade_restore_btn",
    )


def diff_section(model, df) -> None:
    st.subheader(t("to_diff_header"))
    options = list(range(len(df)))
    c = st.columns(3, vertical_alignment="bottom")
    a = c[0].selectbox("A", options, index=0, key="trade_a", format_func=lambda i: point_label(df, i))
    b = c[1].selectbox("B", options, index=len(df) - 1, key="trade_b", format_func=lambda i: point_label(df, i))
    only = c[2].toggle(t("to_only_changed"), value=True, key="trade_only_changed")
    diff = tradeoffs.diff_table(model, df["config"][a], df["config"][b])
    st.caption(t("to_diff_count", n=int(diff["changed"].sum()), total=len(diff)))
    shown = diff[diff["changed"]] if only else diff
    st.dataframe(
        shown.rename(
            columns={
                "layer": t("col_id"),
                "op": t("col_op_type"),
                "weights_a": t("to_weights") + " A",
                "weights_b": t("to_weights") + " B",
                "activations_a": t("to_activations") + " A",
                "activations_b": t("to_activations") + " B",
                "changed": t("to_changed"),
            }
        ),
        hide_index=True,
    )


def name_section(model) -> None:
    """Name the current config (the name shows in the picker, the table and the figure)."""
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    left.text_input(t("to_name"), key="trade_name", max_chars=60, placeholder=t("to_name_placeholder"))
    right.button(
        t("to_name_btn"), key="trade_name_btn", on_click=tradeoffs.name_config, args=(model, state.config_json())
    )


def figure_section(df, metric: str, plotted, with_latency) -> None:
    fig = tradeoffs.figure(df, metric, plotted, with_latency)
    st.plotly_chart(fig, on_select="rerun", selection_mode="points", key="trade_plot")
    st.caption(t("to_note", n=len(df), front=int(plotted.sum())))
    if with_latency is not None:
        st.caption(t("to_front_note", n=int((with_latency & ~plotted).sum())))
    st.caption(t("to_latency_note"))


st.title(t("tradeoffs_title"))
model = models.current_model()
st.text(t("mp_current", name=model_card.display_name(model)))
with messages.show_errors(), st.spinner(t("computing")):
    scoring.record(model, scoring.evaluation(model))  # the current config is always one of the points
    tradeoffs.ensure_baseline(model)  # and the float model, the reference every point is compared with
if st.button(t("to_measure"), key="trade_measure"):
    bar = st.progress(0.0, text=t("to_measuring"))
    tradeoffs.measure_latency(model, lambda done, total: bar.progress(done / total, text=t("to_measuring")))
    bar.empty()
df = tradeoffs.named_history(model)
if df.empty:
    st.info(t("to_empty"))
    st.stop()
metric = scoring.headline_metric(model)
plotted, with_latency = tradeoffs.fronts(df, metric)
figure_section(df, metric, plotted, with_latency)
restore_section(df)
name_section(model)
st.dataframe(tradeoffs.points_table(df, metric, plotted, with_latency), hide_index=True)
if len(df) >= 2:
    diff_section(model, df)
