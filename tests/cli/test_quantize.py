"""`qviz quantize` and `qviz export-config`: files written, calibration rules, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from qviz.config import PRESETS, LayerConfig
from qviz.model import load_model
from qviz.model.deploy.kernels import integer_ops_report
from qviz.quant import QuantSpec
from qviz_dev import model_factory as mf
from qviz_dev.cli_helpers import assert_one_error_line, run_cli


@pytest.fixture
def conv_path(tmp_path):
    path = tmp_path / "conv.onnx"
    path.write_bytes(mf.to_bytes(mf.conv_net()))
    return path


@pytest.fixture
def calib_path(tmp_path):
    path = tmp_path / "calib.npz"
    np.savez(path, x=mf.rand((16, 3, 8, 8), 40))
    return path


def test_quantize_simulated_with_calib(capsys, conv_path, calib_path, tmp_path):
    out = tmp_path / "sim.onnx"
    code, stdout, err = run_cli(capsys, "quantize", conv_path, "--out", out, "--preset", "w4g32", "--calib", calib_path)
    assert code == 0 and stdout == "" and "warning" not in err
    onnx.checker.check_model(onnx.load(out), full_check=True)


def test_quantize_deploy_runs_integer_kernels(capsys, conv_path, calib_path, tmp_path):
    out = tmp_path / "dep.onnx"
    code, _, err = run_cli(capsys, "quantize", conv_path, "--out", out, "--deploy", "--calib", calib_path)
    assert code == 0 and "integer kernels: 3/3 layers" in err
    assert set(integer_ops_report(out.read_bytes()).values()) == {"integer"}


def test_without_calib_a_user_model_warns(capsys, conv_path, tmp_path):
    code, _, err = run_cli(capsys, "quantize", conv_path, "--out", tmp_path / "o.onnx")
    assert code == 0 and "qviz: warning: no --calib data" in err


def test_config_file_and_sample_id(capsys, tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(PRESETS["w8"].with_layer("/net/net.0/Conv", LayerConfig.float()).to_json())
    out = tmp_path / "s.onnx"
    code, _, err = run_cli(capsys, "quantize", "digits_cnn", "--out", out, "--config", cfg)
    assert code == 0 and "warning" not in err  # a sample brings its calibration split
    assert load_model(out).param_count > 0


def test_export_config_writes_ort_overrides(capsys, conv_path, tmp_path):
    out = tmp_path / "ov.json"
    code, _, _ = run_cli(capsys, "export-config", conv_path, "--preset", "w8a8", "--ort-overrides", out)
    data = json.loads(out.read_text())
    assert code == 0 and set(data["extra_options"]["TensorQuantOverrides"]) >= {"x", "conv1.weight"}


def test_errors_are_one_line(capsys, conv_path, tmp_path):
    assert_one_error_line(
        run_cli(capsys, "quantize", conv_path, "--out", tmp_path / "o.onnx", "--preset", "w3"), "preset"
    )
    assert_one_error_line(run_cli(capsys, "quantize", conv_path), "--out")
    bad = tmp_path / "bad.json"
    bad.write_text(PRESETS["w8a8"].with_layer("conv1", LayerConfig(QuantSpec(scheme="kmeans", bits=3), None)).to_json())
    assert_one_error_line(
        run_cli(capsys, "quantize", conv_path, "--out", tmp_path / "o.onnx", "--config", bad, "--deploy"),
        "layer 'conv1'",
    )
    assert_one_error_line(
        run_cli(capsys, "quantize", conv_path, "--out", tmp_path / "o.onnx", "--calib", tmp_path / "none.npz"),
        "none.npz",
    )
