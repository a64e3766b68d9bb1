"""The whole flow in a real browser: switch sample, set a layer to 4 bits and see the accuracy change,
run a small sweep, export the deployable model, upload it back and see it described as quantized."""

from __future__ import annotations

import pytest

from qviz_dev.browser import choose, go, metric_value, open_app, type_into, wait_idle


@pytest.mark.slow
def test_switch_tune_sweep_export_and_upload_back(page, app_url, tmp_path):
    open_app(page, app_url, "model")
    choose(page, "Bundled sample", "Digits MLP")
    page.get_by_text("Current model: Digits MLP").first.wait_for()

    go(page, "Tune")
    page.get_by_text("Tune: per-layer quantization").first.wait_for()
    assert metric_value(page, "Accuracy").startswith("96.67%")
    page.get_by_text("Bulk edit").first.click()
    page.get_by_text("a name pattern").first.click()
    wait_idle(page)
    type_into(page, "Layer name pattern", "net.0/")
    choose(page, "weight bits", "4")
    page.get_by_role("button", name="Apply to these layers").click()
    wait_idle(page)
    page.get_by_test_id("stMetricValue").filter(has_text="95.83%").first.wait_for()

    go(page, "Sensitivity")
    type_into(page, "Layer name pattern", "net.4")
    page.get_by_role("button", name="Run the sweep").click()
    page.get_by_text("Sweep done: 1 layers, 2 cells.").first.wait_for()

    go(page, "Export")
    page.get_by_role("button", name="Build the deployable model").click()
    wait_idle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the deployable ONNX").click()
    exported = tmp_path / download.value.suggested_filename
    download.value.save_as(exported)
    assert exported.stat().st_size > 1000

    go(page, "Model")
    page.get_by_text("Upload your own model").first.click()
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(exported))
    page.get_by_text(f"Current model: {exported.name}").first.wait_for()
    wait_idle(page)
    go(page, "Layer")
    page.get_by_text("already quantized in the model").first.wait_for()
