"""Export: the deployable and simulated models, config, onnxruntime overrides, CSV, HTML report."""

import streamlit as st

from qviz import ui

t = ui.t


def built(kind: str, model, build) -> bytes | str | None:
    """Heavy exports: computed on click (cached by model hash + config JSON), then offered for download."""
    if st.button(t(f"exp_build_{kind}"), key=f"export_build_{kind}"):
        try:
            with st.spinner(t("computing")):
                build(model)
            ui.mark_built(kind, model)
        except (ui.SpecError, ui.ModelError) as error:
            st.error(t("exp_failed", message=ui.md_escape(str(error))))
            return None
    return build(model) if ui.is_built(kind, model) else None


def deploy_section(model, problems) -> None:
    st.subheader(t("exp_deploy_header"))
    if problems:
        st.warning(t("exp_not_deployable", n=len(problems)))
        st.dataframe({t("exp_problems"): problems}, hide_index=True)
        st.caption(t("exp_offer_simulated"))
        return
    data = built("deploy", model, ui.deployed_bytes)
    if data is not None:
        st.download_button(t("exp_download_deploy"), data, file_name=ui.export_name(model, "int.onnx"),
                           mime="application/octet-stream", key="export_dl_deploy")
        st.caption(t("exp_size", size=f"{len(data) / 1024:.1f}"))


def simulated_section(model) -> None:
    st.subheader(t("exp_sim_header"))
    st.caption(t("exp_sim_note"))
    data = built("simulated", model, ui.simulated_bytes)
    if data is not None:
        st.download_button(t("exp_download_simulated"), data, file_name=ui.export_name(model, "sim.onnx"),
                           mime="application/octet-stream", key="export_dl_simulated")


def files_section(model) -> None:
    st.subheader(t("exp_files_header"))
    cols = st.columns(3)
    cols[0].download_button(t("exp_download_config"), ui.config_download(model), file_name="qviz_config.json",
                            mime="application/json", key="export_dl_config")
    cols[1].download_button(t("exp_download_overrides"), ui.ort_overrides_json(model), file_name="ort_overrides.json",
                            mime="application/json", key="export_dl_overrides")
    cols[2].download_button(t("exp_download_csv"), ui.layers_csv_text(model), file_name="qviz_layers.csv",
                            mime="text/csv", key="export_dl_csv")
    st.caption(t("exp_files_note"))


def report_section(model) -> None:
    st.subheader(t("exp_report_header"))
    data = built("report", model, ui.report_html)
    if data is not None:
        st.download_button(t("exp_download_report"), data, file_name="qviz_report.html", mime="text/html",
                           key="export_dl_report")


st.title(t("export_title"))
model = ui.current_model()
st.text(t("mp_current", name=model.name) + "  ·  " + t("mp_config_now", code=ui.config_label()))
problems = ui.deployable_problems(model)
deploy_section(model, problems)
simulated_section(model)
files_section(model)
report_section(model)
st.subheader(t("exp_snippet_header"))
st.code(ui.ORT_SNIPPET.format(file=ui.export_name(model, "int.onnx" if not problems else "sim.onnx")), language="python")
