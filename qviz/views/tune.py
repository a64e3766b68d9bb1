"""Tune: the per-layer config table, bulk edits, presets, and live results of every change."""

import streamlit as st

from qviz.config import PRESETS
from qviz.quant.spec import ESTIMATORS, GRANULARITIES, ROUNDINGS, SCHEMES
from qviz.ui import (
    data_source,
    deltas,
    figures,
    messages,
    model_card,
    models,
    output_kind_form,
    scoring,
    state,
    tables,
    text,
    tune,
)

t = text.t
EDIT_ESTIMATORS = [e for e in ESTIMATORS if e != "manual"]
BITS = [0, 2, 3, 4, 5, 6, 8, 16]
KEEP = None


def column_config() -> dict:
    col = st.column_config
    return {
        "sel": col.CheckboxColumn(t("tn_sel"), width="small"),
        "layer": col.TextColumn(t("col_id")),
        "op": col.TextColumn(t("col_op_type")),
        "params": col.NumberColumn(t("col_params"), format="%d"),
        "w_bits": col.SelectboxColumn(t("tn_w_bits"), options=BITS, required=True, help=t("tn_bits_help")),
        "w_scheme": col.SelectboxColumn(t("scheme"), options=list(SCHEMES), required=True),
        "w_granularity": col.SelectboxColumn(t("granularity"), options=list(GRANULARITIES), required=True),
        "w_rounding": col.SelectboxColumn(t("rounding"), options=list(ROUNDINGS), required=True),
        "w_estimator": col.SelectboxColumn(t("estimator"), options=EDIT_ESTIMATORS, required=True),
        "a_bits": col.SelectboxColumn(t("tn_a_bits"), options=BITS, required=True, help=t("tn_bits_help")),
        "a_estimator": col.SelectboxColumn(t("tn_a_estimator"), options=EDIT_ESTIMATORS, required=True),
    }


def presets_row() -> None:
    """The preset box shows the preset the active config is (empty: a custom config); a choice made
    in it stays until applied or until the config changes another way."""
    now = state.config_json()
    if st.session_state.get("tune_preset_for") != now:
        st.session_state["tune_preset_for"] = now
        st.session_state["tune_preset"] = next((n for n, c in PRESETS.items() if c.to_json() == now), None)
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    left.selectbox(t("tn_preset"), list(PRESETS), key="tune_preset", placeholder=t("tn_preset_custom"))
    right.button(
        t("tn_apply_preset"),
        on_click=lambda: state.apply_preset(st.session_state["tune_preset"]),
        key="tune_apply_preset",
        disabled=st.session_state.get("tune_preset") is None,
    )


BULK_KEYS = (
    "tune_bulk_target",
    "tune_bulk_op",
    "tune_bulk_pattern",
    "tune_bulk_w_bits",
    "tune_bulk_gran",
    "tune_bulk_est",
    "tune_bulk_a_bits",
)


def bulk_section(model) -> None:
    """The bulk editor; its settings survive a visit to another page.

    # NOTE: Streamlit drops a widget's state when a run does not draw it (another page): the
    # values are copied to a plain key after drawing and put back before the next drawing.
    """
    kept = st.session_state.get("tune_bulk_kept", {})
    for key in BULK_KEYS:
        if key not in st.session_state and key in kept:
            st.session_state[key] = kept[key]
    _bulk_widgets(model)
    st.session_state["tune_bulk_kept"] = {k: st.session_state[k] for k in BULK_KEYS if k in st.session_state}


def _bulk_widgets(model) -> None:
    with st.expander(t("tn_bulk")):
        c = st.columns(3)
        target = c[0].radio(
            t("tn_target"),
            ["selected", "op", "pattern"],
            key="tune_bulk_target",
            format_func=text.option_labels("tn_target_"),
        )
        ops = sorted({x.op_type for x in model.layers})
        op_type = c[1].selectbox(t("col_op_type"), ops, key="tune_bulk_op") if target == "op" else None
        pattern = (
            c[1].text_input(t("tn_pattern"), key="tune_bulk_pattern", help=t("tn_pattern_help"))
            if target == "pattern"
            else ""
        )
        c[2].caption(t("tn_targets", n=len(tune.bulk_targets(model, target, op_type, pattern))))
        k = st.columns(4)
        keep = lambda v: t("tn_keep") if v is KEEP else (t("lp_float") if v == 0 else str(v))  # noqa: E731
        changes = {
            "w_bits": k[0].selectbox(t("tn_w_bits"), [KEEP, *BITS], key="tune_bulk_w_bits", format_func=keep),
            "w_granularity": k[1].selectbox(
                t("granularity"), [KEEP, *GRANULARITIES], key="tune_bulk_gran", format_func=keep
            ),
            "w_estimator": k[2].selectbox(
                t("estimator"), [KEEP, *EDIT_ESTIMATORS], key="tune_bulk_est", format_func=keep
            ),
            "a_bits": k[3].selectbox(t("tn_a_bits"), [KEEP, *BITS], key="tune_bulk_a_bits", format_func=keep),
        }
        st.button(t("tn_bulk_apply"), on_click=apply_bulk, args=(model, list(changes)), key="tune_bulk_apply")


def apply_bulk(model, columns) -> None:
    """Button callback: read the bulk widgets now (a click's args would be those of the previous run)."""
    s = st.session_state
    target = s["tune_bulk_target"]
    keys = {
        "w_bits": "tune_bulk_w_bits",
        "w_granularity": "tune_bulk_gran",
        "w_estimator": "tune_bulk_est",
        "a_bits": "tune_bulk_a_bits",
    }
    tune.apply_bulk(
        model,
        target,
        s.get("tune_bulk_op") if target == "op" else None,
        s.get("tune_bulk_pattern", ""),
        {c: s.get(keys[c]) for c in columns},
    )


def results(model, ev) -> None:
    metric = scoring.headline_metric(model)
    cols = st.columns(4)
    if metric == "accuracy":
        cols[0].metric(
            t("tn_accuracy"), f"{ev.accuracy:.2%}", deltas.delta_text(ev.accuracy - ev.float_accuracy, "+.2%")
        )
    elif metric == "agreement":
        cols[0].metric(t("tn_agreement"), f"{ev.fidelity['agreement']:.2%}")
    else:  # no output has a class decision (qviz.evaluate.output_kind)
        cols[0].metric(t("tn_cosine"), f"{ev.fidelity['cosine']:.4f}")
    cols[1].metric(t("tn_sqnr"), f"{ev.fidelity['sqnr_db']:.1f} dB")
    cols[2].metric(t("tn_size"), text.format_size(ev.size.weight_bytes))
    cols[3].metric(t("tn_bpw"), f"{ev.size.bits_per_weight:.2f}")
    st.caption(scoring.measure_text(ev))
    st.caption(
        t("tn_eval_note", n=ev.n, source=data_source.data_source_text(ev.source), count=len(scoring.history_df(model)))
    )


def layer_errors_section(model) -> None:
    """The per-layer error chart, after the headline numbers (shown first): computed on demand
    for a model whose chart costs more than a quick rerun (scoring.layer_errors_on_demand)."""
    if scoring.layer_errors_on_demand(model) and not st.toggle(
        t("tn_layer_errors"), key="tune_layer_errors", help=t("tn_layer_errors_help")
    ):
        return
    with messages.show_errors(stop=True), st.spinner(t("computing")):
        errors = scoring.layer_error_table(model)
    st.plotly_chart(figures.layer_error_fig(errors))


st.title(t("tune_title"))
model = models.current_model()
st.text(t("mp_current", name=model_card.display_name(model)) + "  ·  " + t("mp_config_now", code=tables.config_label()))
presets_row()
bulk_section(model)
table = tune.tune_table(model)
if table.empty:  # no layer to tune: none at all, or every one already quantized (an int8 model as shipped)
    line, _ = tables.existing_quantization(model)
    st.info("\n\n".join([text.md_escape(line), t("tn_all_prequantized")]) if line else t("mp_no_layers"))
    st.stop()
key = tune.tune_table_key(model)
st.data_editor(
    table, key=key, column_config=column_config(), disabled=["layer", "op", "params"], hide_index=True, width="stretch"
)
if tune.apply_tune_edits(model, key, table):
    st.rerun()
error = tune.tune_error()
if error:
    st.error(t("error_prefix", message=text.md_escape(error)))
with st.expander(t("ok_title")), messages.show_errors():  # before the evaluation it changes
    output_kind_form.output_kind_form(model)
with messages.show_errors(stop=True), st.spinner(t("computing")):
    ev = scoring.evaluation(model)
scoring.record(model, ev)
results(model, ev)
layer_errors_section(model)
