"""Sensitivity: per-layer sweep (progress, stop), heatmap; mixed-precision search under a budget."""

import streamlit as st

from qviz.config import PRESETS, ModelConfig
from qviz.evaluate import Budget
from qviz.evaluate.metric_names import RANKING_METRICS
from qviz.ui import figures, messages, model_card, models, sensitivity, text
from qviz.ui.state import current_config

t = text.t
SWEEP_BITS = [8, 6, 4, 3, 2]
SEARCH_BITS = [8, 6, 4, 3, 2]
BUDGET_DEFAULTS = {"bpw": 5.0, "bytes": 40_000.0, "latency_ms": 5.0}


def sweep_form(model) -> None:
    st.subheader(t("sn_sweep_header"))
    c = st.columns(4)
    bits = c[0].multiselect(t("sn_bits"), SWEEP_BITS, default=[8, 4], key="sens_bits")
    st.checkbox(t("sn_sim_only"), key="sens_sim_only", help=t("sn_sim_only_help"))
    modes = c[1].multiselect(
        t("sn_modes"),
        ["weights", "activations"],
        default=["weights"],
        key="sens_modes",
        format_func=text.option_labels("sn_mode_"),
    )
    c[2].text_input(t("tn_pattern"), key="sens_pattern", help=t("tn_pattern_help"))
    c[3].selectbox(t("sn_metric"), RANKING_METRICS, key="sens_metric", format_func=text.option_labels("sn_metric_"))
    st.button(
        t("sn_run"), type="primary", on_click=start_sweep, args=(model,), disabled=not bits or not modes, key="sens_run"
    )


def start_sweep(model) -> None:
    """Button callback: read the form's widgets now (a click's args would be those of the previous run)."""
    s = st.session_state
    sensitivity.start_sweep(
        model,
        s["sens_bits"],
        s["sens_modes"],
        s.get("sens_pattern", ""),
        s["sens_metric"],
        s.get("sens_sim_only", False),
    )


def sweep_run(model, state) -> None:
    """One layer per step; a Stop click interrupts at the next progress update (ui NOTE)."""
    holder = st.empty()
    box = holder.container()
    box.button(t("sn_stop"), on_click=sensitivity.stop_sweep, key="sens_stop")
    bar = box.progress(sensitivity.sweep_progress(state), text=t("sn_progress", done=0, total=len(state["layers"])))
    while state["status"] == "running":
        with messages.show_errors() as shown:  # an upload's worker can fail too (qviz.worker)
            more = sensitivity.sweep_step(model, state)
        if shown.failed:
            state["status"] = "stopped"
            return
        if not more:
            break
        done = len({r["layer"] for r in state["records"]})
        bar.progress(sensitivity.sweep_progress(state), text=t("sn_progress", done=done, total=len(state["layers"])))
    holder.empty()


def sweep_results(state) -> None:
    if not state["layers"]:
        st.warning(t("sn_no_match"))
        return
    done = len({r["layer"] for r in state["records"]})
    if state["status"] == "stopped":
        st.warning(t("sn_stopped", done=done, total=len(state["layers"])))
        st.button(t("sn_resume"), on_click=sensitivity.resume_sweep, key="sens_resume")
    else:
        st.success(t("sn_done", done=done, cells=len(state["records"])))
    metric = state.get("used_metric", state["metric"])
    st.plotly_chart(figures.sweep_fig(sensitivity.sweep_table(state), metric))
    st.caption(t("sn_damage_note", metric=t(f"sn_metric_{metric}")))
    for note in state.get("notes", []):
        st.caption(note)


def search_section(model) -> None:
    st.subheader(t("sn_search_header"))
    c = st.columns(4)
    kind = c[0].selectbox(
        t("sn_budget"), list(BUDGET_DEFAULTS), key="sens_budget_kind", format_func=text.option_labels("sn_budget_")
    )
    value = c[1].number_input(
        t("sn_budget_value"), min_value=0.001, value=BUDGET_DEFAULTS[kind], key=f"sens_budget_{kind}"
    )
    bits = c[2].multiselect(t("sn_bits"), SEARCH_BITS, default=SEARCH_BITS, key="sens_search_bits")
    # NOTE: the default follows the current config, so that "apply" never turns a w8a8 config into
    # weight-only without a word (the searched accuracy would not be comparable with it)
    quantizes_act = current_config().default.activations is not None
    keep_act = c[3].checkbox(t("sn_keep_act"), value=quantizes_act, key="sens_keep_act", help=t("sn_keep_act_help"))
    sim_only = c[3].checkbox(t("sn_sim_only"), key="sens_search_sim_only", help=t("sn_sim_only_help"))
    base = PRESETS["w8a8"] if keep_act else ModelConfig()
    budget = Budget(kind, float(value))
    result = sensitivity.search_result(model, budget, sorted(bits, reverse=True), base, sim_only)
    if st.button(t("sn_search_run"), disabled=not bits, key="sens_search_run"):
        holder = st.empty()  # the Stop button and the bar go when the search ends (as the sweep's)
        box = holder.container()
        box.button(t("sn_stop"), key="sens_search_stop")
        bar = box.progress(0.0, text=t("computing"))
        report = lambda done, total, label: bar.progress(min(1.0, done / max(1, total)), text=t("computing"))  # noqa: E731
        with messages.show_errors() as shown:
            result = sensitivity.run_search(model, budget, sorted(bits, reverse=True), base, report, sim_only)
        holder.empty()
        if shown.failed:
            return
    if result is not None:
        search_result(model, result)


def search_result(model, result) -> None:
    best = result.best
    if best is None:
        st.warning(t("sn_no_fit"))
        return
    metric = result.metric
    c = st.columns(4)
    c[0].metric(t(f"to_metric_{metric}"), f"{best[metric]:.2%}")
    c[1].metric(t("tn_size"), text.format_size(best["weight_bytes"]))
    c[2].metric(t("tn_bpw"), f"{best['bits_per_weight']:.2f}")
    c[3].metric(t("sn_evaluated"), len(result.evaluated))
    st.button(
        t("sn_apply"), type="primary", on_click=sensitivity.apply_search, args=(model, best["config"]), key="sens_apply"
    )
    df = result.explanation
    st.dataframe(
        df[["layer", "candidate", "sensitivity", "why", "simulation_only"]].rename(
            columns={
                "layer": t("col_id"),
                "candidate": t("sn_candidate"),
                "sensitivity": t("sn_sensitivity"),
                "why": t("sn_why"),
                "simulation_only": t("sn_sim_only_col"),
            }
        ),
        hide_index=True,
    )
    left_out = list(dict.fromkeys(w for w in df["not_searched"] if w))
    if left_out:
        st.caption(t("sn_not_searched", why="; ".join(left_out)))


st.title(t("sensitivity_title"))
model = models.current_model()
st.text(t("mp_current", name=model_card.display_name(model)))
st.caption(t("sn_intro"))
sweep_form(model)
state = sensitivity.sweep_state(model)
if state is not None and state["status"] == "running":
    sweep_run(model, state)
if state is not None:
    sweep_results(state)
search_section(model)
