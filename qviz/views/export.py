"""Export: the deployable and simulated models, config, onnxruntime overrides, CSV, HTML report."""

import streamlit as st

from qviz.ui import export, messages, model_card, models, report, tables, text

t = text.t


def built(kind: str, model, build) -> bytes | str | None:
    """Heavy exports: computed on click (cached by model hash + config JSON), then offered for download."""
    if st.button(t(f"exp_build_{kind}"), key=f"export_build_{kind}"):
        with messages.show_errors("exp_failed") as shown, st.spinner(t("computing")):
            build(model)
            export.mark_built(kind, model)
        if shown.failed:
            return None
    return build(model) if export.is_built(kind, model) else None


def deploy_section(model, problems) -> None:
    st.subheader(t("exp_deploy_header"))
    if problems:
        st.warning(t("exp_not_deployable", n=len(problems)))
        st.dataframe({t("exp_problems"): problems}, hide_index=True)
        st.caption(t("exp_offer_simulated"))
        return
    notes = export.simulation_only(model)
    if notes:
        st.info(t("exp_simulation_only", n=len(notes)))
        st.dataframe({t("exp_notes"): notes}, hide_index=True)
    data = built("deploy", model, export.deployed_bytes)
    if data is not None:
        st.download_button(
            t("exp_download_deploy"),
            data,
            file_name=export.export_name(model, "int.onnx"),
            mime="application/octet-stream",
            key="export_dl_deploy",
        )
        st.caption(t("exp_size", size=text.format_size(len(data))))


def kernels_section(model) -> None:
    """Which layers became integer kernels and which fell back, and why (once the deployable model is built)."""
    if not export.is_built("deploy", model):
        return
    with messages.show_errors("exp_failed"):
        rows = export.kernel_rows(model)
        counts = export.kernel_counts(rows)
        st.markdown(
            t(
                "exp_kernels_summary",
                integer=counts["integer"],
                total=len(model.layers),
                fallback=counts["float fallback"],
                float=counts["float"],
            )
        )
        st.dataframe(rows, hide_index=True)


def check_section(model, problems) -> None:
    """On demand: the deployed model against the simulation per tensor and end to end, and its speed."""
    st.subheader(t("exp_check_header"))
    if problems:
        st.caption(t("exp_check_not_deployable"))
        return
    st.caption(t("exp_check_help", n=export.CHECK_SAMPLES))
    if st.button(t("exp_check_button"), key="export_check"):
        export.run_check(model, with_speed=True)
    if not export.is_built("check", model):
        return
    result = export.check_result(model)
    st.markdown(t("exp_check_summary", passed=result.passed, total=len(result.rows), n=result.n))
    causes = result.causes()
    if causes:
        st.caption(t("exp_check_causes", causes="; ".join(f"{k} ×{v}" for k, v in causes.items())))
    st.dataframe(export.end_to_end_rows(result), hide_index=True)
    st.dataframe(export.check_rows(result), hide_index=True)
    for note in result.notes:
        st.caption(text.md_escape(note))  # notes name model tensors
    speed_part(export.speed(model))


def speed_part(report: dict) -> None:
    st.markdown("**" + t("exp_speed_header") + "**")
    st.markdown(
        t(
            "exp_speed_ratio",
            int8=f"{report['int8_ms']:.2f}",
            fp32=f"{report['fp32_ms']:.2f}",
            ratio=f"{report['speedup']:.2f}",
        )
    )
    if report["explanation"]:
        st.warning(report["explanation"])
    st.caption(report["hardware"])
    st.caption(t("exp_speed_qdq", n=report["unfused_qdq"], ms=f"{report['qdq_ms']:.3f}"))
    st.dataframe(export.speed_rows(report), hide_index=True)
    st.markdown(t("exp_speed_recommend") + "\n" + "\n".join(f"- {r}" for r in report["recommendations"]))


def simulated_section(model) -> None:
    st.subheader(t("exp_sim_header"))
    st.caption(t("exp_sim_note"))
    data = built("simulated", model, export.simulated_bytes)
    if data is not None:
        st.download_button(
            t("exp_download_simulated"),
            data,
            file_name=export.export_name(model, "sim.onnx"),
            mime="application/octet-stream",
            key="export_dl_simulated",
        )


def files_section(model) -> None:
    st.subheader(t("exp_files_header"))
    cols = st.columns(3)
    cols[0].download_button(
        t("exp_download_config"),
        export.config_download(model),
        file_name="qviz_config.json",
        mime="application/json",
        key="export_dl_config",
    )
    with cols[1], messages.show_errors("exp_failed"):  # deploy's overrides need the model's host (an upload's worker)
        st.download_button(
            t("exp_download_overrides"),
            export.ort_overrides_json(model),
            file_name="ort_overrides.json",
            mime="application/json",
            key="export_dl_overrides",
        )
    cols[2].download_button(
        t("exp_download_csv"),
        export.layers_csv_text(model),
        file_name="qviz_layers.csv",
        mime="text/csv",
        key="export_dl_csv",
    )
    st.caption(t("exp_files_note"))


def report_section(model) -> None:
    st.subheader(t("exp_report_header"))
    data = built("report", model, report.report_html)
    if data is not None:
        st.download_button(
            t("exp_download_report"), data, file_name="qviz_report.html", mime="text/html", key="export_dl_report"
        )


st.title(t("export_title"))
model = models.current_model()
st.text(t("mp_current", name=model_card.display_name(model)) + "  ·  " + t("mp_config_now", code=tables.config_label()))
problems = export.deployable_problems(model)
deploy_section(model, problems)
kernels_section(model)
check_section(model, problems)
simulated_section(model)
files_section(model)
report_section(model)
st.subheader(t("exp_snippet_header"))
st.code(
    export.ORT_SNIPPET.format(
        file=export.export_name(model, "int.onnx" if not problems else "sim.onnx"), comment=t("exp_snippet_comment")
    ),
    language="python",
)
