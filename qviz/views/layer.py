"""Layer: one layer's weights under its current spec, and an editor for that spec. Widgets -> qviz -> render."""

from dataclasses import replace
from typing import Any

import streamlit as st

from qviz.quant.spec import BITS_RANGE, ESTIMATORS, FLOAT_FORMATS, GRANULARITIES, ROUNDINGS, SCHEMES
from qviz.ui import cache, editor, export, figures, layers, messages, models, state, tables, text

t = text.t
EDITABLE_ESTIMATORS = [e for e in ESTIMATORS if e != "manual"]


def spec_editor(layer) -> None:
    """Sidebar: this layer's weights spec; every change writes the layer's override into the config."""
    st.subheader(t("lp_editor"))
    token = editor.edit_token(layer.id)
    k = lambda field: editor.edit_key(field, token)  # noqa: E731
    changed: dict[str, Any] = dict(on_change=editor.apply_layer_edit, args=(layer.id, token))
    spec = editor.edited_weights(layer.id)
    st.checkbox(t("lp_quantize"), value=spec is not None, key=k("quantize"), **changed)
    if spec is not None:
        st.selectbox(
            t("scheme"),
            SCHEMES,
            index=SCHEMES.index(spec.scheme),
            key=k("scheme"),
            format_func=text.option_labels("scheme_"),
            **changed,
        )
        if spec.scheme == "float":
            st.selectbox(
                t("float_format"),
                FLOAT_FORMATS,
                index=FLOAT_FORMATS.index(spec.float_format),
                key=k("float_format"),
                **changed,
            )
        else:
            st.slider(t("bits"), *BITS_RANGE[spec.scheme], value=spec.bits, key=k("bits"), **changed)
        st.checkbox(t("symmetric"), value=spec.symmetric, key=k("symmetric"), **changed)
        st.selectbox(
            t("granularity"),
            GRANULARITIES,
            index=GRANULARITIES.index(spec.granularity),
            key=k("granularity"),
            format_func=text.option_labels("gran_"),
            **changed,
        )
        if spec.granularity == "group":
            st.number_input(t("group_size"), min_value=1, value=spec.group_size, key=k("group_size"), **changed)
        estimator = spec.estimator if spec.estimator in EDITABLE_ESTIMATORS else "minmax"
        st.selectbox(
            t("estimator"),
            EDITABLE_ESTIMATORS,
            index=EDITABLE_ESTIMATORS.index(estimator),
            key=k("estimator"),
            format_func=text.option_labels("est_"),
            **changed,
        )
        if spec.estimator == "percentile":
            low = min(90.0, float(spec.percentile))  # a shared config may hold any valid percentile
            st.slider(
                t("percentile"), low, 100.0, value=float(spec.percentile), step=0.01, key=k("percentile"), **changed
            )
        if spec.scheme in ("int", "fixed_point"):  # log and k-means take the nearest level
            st.selectbox(
                t("rounding"),
                ROUNDINGS,
                index=ROUNDINGS.index(spec.rounding),
                key=k("rounding"),
                format_func=text.option_labels("round_"),
                **changed,
            )
    st.button(
        t("lp_reset"),
        on_click=state.reset_layer,
        args=(layer.id,),
        disabled=layer.id not in state.current_config().layers,
    )
    error = editor.edit_error()
    if error:
        st.error(t("error_prefix", message=text.md_escape(error)))


def header(model, layer) -> None:
    cols = st.columns(5)
    cols[0].metric(t("lp_op"), layer.op_type)
    cols[1].metric(t("mp_col_shape"), "×".join(map(str, layer.weight_shape)))
    cols[2].metric(t("sum_params"), f"{layer.params:,}")
    cols[3].metric(t("lp_channel_axis"), layer.channel_axis)
    cols[4].metric(t("lp_dtype"), layer.weight_dtype)


def metrics_row(view) -> None:
    cols = st.columns(5)
    cols[0].metric(t("metric_clipped"), f"{view.clipped_fraction:.3%}")
    cols[1].metric(t("metric_sqnr"), f"{view.sqnr_db:.2f} dB")
    cols[2].metric(t("metric_mse"), f"{view.mse:.4g}")
    cols[3].metric(t("metric_scale"), "—" if view.params is None else f"{view.params['scale'][0]:.6g}")
    cols[4].metric(
        t("lp_codes_used"), "—" if view.codes is None else f"{view.codes['used']} / {view.codes['available']}"
    )
    st.caption(t("metric_split", clip=f"{view.clip_mse:.3g}", round=f"{view.round_mse:.3g}"))


def group_picker(model, layer, view):
    """Which channel/group the histogram shows (default: the widest); returns its GroupView."""
    kind = view.spec.granularity
    key = f"layer_group::{layer.id}::{kind}::{view.groups}"
    group = cache.group_view(model, layer, view.spec, st.session_state.get(key, view.widest))
    label = t(f"lp_pick_{kind}", c=group.index, n=group.count, lo=f"{group.data_lo:.4g}", hi=f"{group.data_hi:.4g}")
    st.number_input(label, 0, view.groups - 1, value=view.widest, step=1, key=key)
    return group


def weights_section(model, layer, view) -> None:
    log_y = st.toggle(t("lp_log_y"), key="layer_log_y")
    index = None if view.spec.granularity == "tensor" else group_picker(model, layer, view).index
    st.plotly_chart(figures.layer_histogram_fig(model, layer, view, index, log_y))
    if index is not None:
        st.caption(t(f"lp_one_{view.spec.granularity}_note"))
    left, right = st.columns(2)
    with left:
        st.plotly_chart(figures.channel_fig(view))
        st.caption(t("lp_channels_note", n=view.channels["count"], outliers=int(view.channels["outlier"].sum())))
    with right:
        st.plotly_chart(figures.error_map_fig(view))
        st.caption(t(f"lp_map_note_{view.map_kind}", factor=view.map_factor))


def range_section(view) -> None:
    left, right = st.columns(2)
    with left:
        if view.split is not None:
            st.plotly_chart(figures.split_fig(*view.split))
        else:
            st.info(t("split_na"))
    with right:
        if view.estimators is not None:
            st.plotly_chart(figures.estimator_fig(view))
        else:
            st.info(t("lp_est_na"))
    if view.estimators is not None:
        st.dataframe(tables.estimator_table(view), hide_index=True)


def codes_section(view) -> None:
    st.subheader(t("lp_codes_header"))
    if view.params is None and view.codes is None:
        st.info(t("lp_codes_na"))
        return
    left, right = st.columns([2, 3])
    if view.params is not None:
        left.dataframe(tables.param_rows(view), hide_index=True, height=300)
        left.caption(t("lp_params_note", shown=len(view.params["group"]), groups=view.params["groups"]))
    if view.codes is not None:
        right.plotly_chart(figures.codes_fig(view))


def activation_section(model, layer, specs) -> None:
    st.subheader(t("lp_act_header"))
    with messages.show_errors() as shown, st.spinner(t("computing")):  # an upload's calibration runs in its worker
        act = cache.activation_view(model, layer, specs.activations)
    if shown.failed:
        return
    if act is None:
        st.info(t("lp_act_na"))
        return
    st.plotly_chart(figures.activation_fig(act, st.session_state.get("layer_log_y", False)))
    clipped = "—" if act.clipped_fraction is None else f"{act.clipped_fraction:.3%}"
    st.caption(t("lp_act_note", n=f"{act.values:,}", spec=tables.spec_label(specs.activations), clipped=clipped))
    if tables.data_kind(model) == "generated":
        st.warning(t("mp_data_generated", rows=0))


def deploy_check_section(model, layer) -> None:
    """On demand: this layer's tensors (its input, weight and output) in the deployed model against
    the simulation: the Export page's check (same cache), only this layer's rows."""
    st.subheader(t("lp_check_header"))
    if export.deployable_problems(model):
        st.caption(t("exp_check_not_deployable"))
        return
    if st.button(t("exp_check_button"), key="layer_check"):
        export.run_check(model, with_speed=False)
    if not export.is_built("check", model):
        return
    result = export.check_result(model)
    mine = {*layer.inputs[:1], layer.weight_name, *layer.outputs[:1]}
    rows = [r for r in result.rows if r["tensor"] in mine]
    if not rows:
        st.caption(t("lp_check_none"))
        return
    st.dataframe(export.check_rows(replace(result, rows=rows)), hide_index=True)


st.title(t("layer_title"))
model = models.current_model()
layer = layers.layer_picker(model, t("mp_layer"))
if layer is None:
    st.info(t("mp_no_layers"))
    st.stop()
header(model, layer)
with st.sidebar:
    spec_editor(layer)
specs = cache.layer_specs(model, layer)
st.text(t("lp_spec_now", weights=tables.spec_label(specs.weights), activations=tables.spec_label(specs.activations)))
if specs.note:
    st.caption(text.md_escape(specs.note))
if layer.graph:
    st.caption(t("lp_in_subgraph", graph=text.md_escape(layer.graph)))
if layer.quantized:
    stored = model.simulator.existing_quantization().get(layer.id)
    st.info(t("lp_already") + (" " + t("lp_stored", quant=stored.describe()) if stored else ""))
    st.stop()
if specs.weights is None:
    st.info(t("lp_float_weights"))
else:
    with messages.show_errors(stop=True), st.spinner(t("computing")):
        view = cache.weight_view(model, layer, specs.weights)
    metrics_row(view)
    weights_section(model, layer, view)
    range_section(view)
    codes_section(view)
activation_section(model, layer, specs)
deploy_check_section(model, layer)
