"""Model: pick a sample or upload a model, see its summary and the model map. Widgets -> qviz -> render."""

import streamlit as st

from qviz.config import PRESETS
from qviz.evaluate.model_map import QUANTITIES, SHOWN_COLUMNS
from qviz.ui import (
    cache,
    data_form,
    figures,
    layers,
    messages,
    model_card,
    models,
    navigation,
    output_kind_form,
    state,
    tables,
    text,
    upload,
)

t = text.t


def source_controls(model) -> None:
    titles = model_card.sample_titles()
    ids = list(titles)
    left, right = st.columns(2)
    models.show_current_sample("model_sample_pick", model)
    left.selectbox(
        t("mp_sample"),
        ids,
        format_func=titles.__getitem__,
        key="model_sample_pick",
        placeholder=t("mp_uploaded_placeholder"),
        on_change=models.on_sample_change,
        args=("model_sample_pick",),
    )
    with right.expander(t("mp_upload_header"), expanded=model.sample_id is None):
        upload_controls()
        now = models.current_model()
        if now.sha256 != model.sha256:
            st.rerun()  # a new upload: draw the picker again (empty), not the sample it replaced
        if now.sample_id is None:
            inputs_controls(now)


def upload_controls() -> None:
    file = st.file_uploader(
        t("mp_upload_onnx"),
        type=["onnx", "zip"],
        key="model_upload_onnx",
        help=t("mp_upload_help", mb=upload.max_model_mb()),
    )
    if file is not None:
        error = upload.handle_model_upload(file.name, file.getvalue())
        if error:
            st.error(t("mp_model_error", message=text.md_escape(error)))
            if upload.pending_for(file.getvalue()):
                pending_inputs_controls()


def pending_inputs_controls() -> None:
    """The data upload stays available when only the model's run on generated inputs failed."""
    st.caption(t("mp_pending_inputs"))
    file = st.file_uploader(t("mp_upload_pending_npz"), type=["npz"], key="model_upload_pending_npz")
    if file is not None:
        error = upload.handle_pending_inputs(file.name, file.getvalue())
        if error:
            st.error(t("mp_npz_error", message=text.md_escape(error)))
        else:
            st.rerun()


def inputs_controls(model) -> None:
    types = ["npz", "zip", "txt", "csv"]
    file = st.file_uploader(t("mp_upload_npz"), type=types, key="model_upload_npz", help=t("mp_npz_help"))
    options = None if file is None else data_form.data_options(file.name, model)
    if file is not None and options is not None:
        error = upload.handle_inputs_upload(file.name, file.getvalue(), model, options)
        if error:
            st.error(t("mp_npz_error", message=text.md_escape(error)))
    note = upload.data_note(model)
    if note:
        st.caption(t("mp_data_read", note=text.md_escape(note)))
    with st.expander(t("ok_title")), messages.show_errors():  # how every page compares the outputs
        output_kind_form.output_kind_form(model)


def summary_section(model) -> None:
    loaded = model.loaded
    st.subheader(t("mp_summary"))
    st.text(t("mp_current", name=model_card.display_name(model)))
    params, other = model_card.parameter_counts(model)
    cols = st.columns(5)
    cols[0].metric(t("sum_layers"), len(model.layers))
    cols[1].metric(t("sum_params"), f"{params:,}", help=t("mp_params_help", other=f"{other:,}"))
    cols[2].metric(t("sum_size"), text.format_size(loaded.file_size))
    cols[3].metric(t("sum_opset"), loaded.opset)
    cols[4].metric(t("sum_nodes"), sum(loaded.op_counts.values()))
    lesson = model_card.sample_lesson(model)
    if lesson:  # the sample card's lesson: what this model is here to teach
        st.info(f"**{t('mp_lesson')}** {lesson}")
    io_col, ops_col = st.columns([3, 2])
    io_col.dataframe(tables.io_table(loaded), hide_index=True)
    ops_col.dataframe(tables.ops_table(loaded), hide_index=True, height=min(300, 40 + 35 * len(loaded.op_counts)))
    if loaded.notes:  # what loading normalized (qviz.model.load.normalize)
        st.info("\n".join([t("mp_normalized"), "", *(f"- {text.md_escape(note)}" for note in loaded.notes)]))
    for warning in loaded.warnings:
        st.warning(text.md_escape(warning))
    prequantized_section(model)
    st.caption(t(f"mp_data_{tables.data_kind(model)}", rows=tables.calibration_rows(model)))


def prequantized_section(model) -> None:
    """An already-quantized model: what each layer stores, and its float (dequantized) model."""
    line, table = tables.existing_quantization(model)
    if not line:
        return
    st.info("\n".join([text.md_escape(line), "", t("mp_prequantized")]))
    with st.expander(t("mp_prequantized_layers")):
        st.dataframe(table, hide_index=True)
        with messages.show_errors("mp_model_error"):
            data = cache.dequantized_model(model)
            st.download_button(
                t("mp_dequantized_download"), data, file_name="dequantized.onnx", help=t("mp_dequantized_help")
            )


def config_controls() -> None:
    st.subheader(t("mp_config"))
    left, right = st.columns([2, 3])
    name = left.selectbox(
        t("mp_preset"),
        list(PRESETS),
        index=None,
        key="model_preset_pick",
        placeholder=t("mp_preset_placeholder"),
        format_func=text.option_labels("preset_"),
    )
    if left.button(t("mp_apply_preset"), disabled=name is None) and name is not None:  # disabled: returns False
        state.apply_preset(name)
    right.text(t("mp_config_now", code=tables.config_label()))


def map_section(model) -> None:
    st.subheader(t("map_title"))
    quantity = st.radio(
        t("mp_color_by"), QUANTITIES, format_func=text.option_labels("qty_"), horizontal=True, key="model_map_quantity"
    )
    st.plotly_chart(
        figures.model_map_fig(model, quantity),
        key="model_map_chart",
        selection_mode="points",
        on_select=lambda: layers.on_map_select("model_map_chart"),
    )
    st.caption(t("mp_map_help"))
    pick, go = st.columns([4, 1], vertical_alignment="bottom")
    with pick:
        layer = layers.layer_picker(model, t("mp_layer"))
    if go.button(t("mp_open_layer"), disabled=layer is None) or layers.goto_layer_requested():
        st.switch_page(navigation.page_path("layer"))
    st.dataframe(cache.model_map(model)[list(SHOWN_COLUMNS)], hide_index=True, column_config=tables.map_column_labels())


st.title(t("model_title"))
st.caption(t("model_intro"))
with messages.show_errors("mp_model_error", stop=True):
    current = models.current_model()
source_controls(current)
current = models.current_model()
summary_section(current)
config_controls()
if not current.layers:
    st.info(t("mp_no_layers"))
    st.stop()
map_section(current)
