"""`qviz inspect`: text and JSON output; every error is one stderr line and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import pytest

from qviz import samples
from qviz_dev import REPO
from qviz_dev import model_factory as mf
from qviz_dev.cli_helpers import assert_one_error_line, run_cli


@pytest.fixture
def conv_path(tmp_path):
    path = tmp_path / "conv.onnx"
    path.write_bytes(mf.to_bytes(mf.conv_net()))
    return path


def test_inspect_text(capsys, conv_path):
    code, out, err = run_cli(capsys, "inspect", conv_path)
    assert code == 0 and err == ""
    assert "3 quantizable layers" in out
    for fragment in ("conv1", "conv2.weight", "fc", "params    490", "x: float32 ['N', 3, 8, 8]"):
        assert fragment in out


def test_inspect_json_is_only_json(capsys, conv_path):
    code, out, err = run_cli(capsys, "inspect", conv_path, "--json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert [x["id"] for x in doc["layers"]] == ["conv1", "conv2.weight", "fc"]
    assert doc["layers"][2]["weight_shape"] == [10, 8] and doc["layers"][2]["channel_axis"] == 0
    assert doc["model"]["param_count"] == 490 and doc["model"]["inputs"][0]["shape"] == ["N", 3, 8, 8]
    assert [x["id"] for x in doc["weight_stats"]] == ["conv1", "conv2.weight", "fc"]


def test_no_quantizable_layers_is_said(capsys, tmp_path):
    path = tmp_path / "relu.onnx"
    path.write_bytes(mf.to_bytes(mf.no_layers()))
    code, out, _ = run_cli(capsys, "inspect", path)
    assert code == 0 and "No quantizable layers" in out
    code, out, _ = run_cli(capsys, "inspect", path, "--json")
    assert json.loads(out)["layers"] == []


def test_nan_weights_warn(capsys, tmp_path):
    import numpy as np
    from onnx import numpy_helper

    model = mf.mlp()
    w = numpy_helper.to_array(model.graph.initializer[0]).copy()
    w[0, 0] = np.nan
    model.graph.initializer[0].CopyFrom(numpy_helper.from_array(w, "fc1.weight"))
    path = tmp_path / "nan.onnx"
    path.write_bytes(mf.to_bytes(model))
    code, out, _ = run_cli(capsys, "inspect", path, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["model"]["warnings"] == ["weight 'fc1.weight' has 1 NaN/Inf values"]
    assert doc["weight_stats"][0]["nonfinite"] == 1


ERRORS = {
    "random_bytes": (lambda p: p.write_bytes(b"\x01\x02garbage" * 50), "not an ONNX model"),
    "empty": (lambda p: p.write_bytes(b""), "not an ONNX model: the file is empty"),
    "external_data": (lambda p: p.write_bytes(mf.to_bytes(_external())), "external data"),
}


def _external():
    model = mf.conv_net()
    mf.set_external(model.graph.initializer[0], ".streamlit/secrets.toml")
    return model


@pytest.mark.parametrize("case", list(ERRORS))
def test_bad_model_is_one_error_line(case, capsys, tmp_path):
    write, fragment = ERRORS[case]
    path = tmp_path / "bad.onnx"
    write(path)
    for extra in ([], ["--json"]):
        assert_one_error_line(run_cli(capsys, "inspect", path, *extra), fragment)


@pytest.mark.parametrize(
    "argv,fragment",
    [
        ([], "missing COMMAND"),
        (["inspect"], "required: MODEL"),
        (["frobnicate"], "invalid choice"),
        (["inspect", "m.onnx", "--bogus"], "unrecognized arguments"),
        (["inspect", "/no/such/model.onnx"], "no such file or bundled sample"),
    ],
    ids=["no_command", "no_model", "unknown_command", "unknown_flag", "missing_file"],
)
def test_usage_errors(argv, fragment, capsys):
    assert_one_error_line(run_cli(capsys, *argv), fragment)


def test_unexpected_exception_is_one_line_unless_debug(capsys, conv_path, monkeypatch):
    import qviz.model

    def boom(*_):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(qviz.model, "layer_table", boom)
    assert_one_error_line(run_cli(capsys, "inspect", conv_path), "unexpected RuntimeError: kaboom")
    code, _, err = run_cli(capsys, "inspect", conv_path, "--debug")
    assert code == 2 and "Traceback" in err and err.rstrip().endswith("qviz: error: unexpected RuntimeError: kaboom")


def test_bundled_sample_id(capsys, monkeypatch):
    monkeypatch.setattr(
        samples, "list_samples", lambda: [types.SimpleNamespace(id="tiny_mlp", title="Tiny MLP", card={})]
    )
    monkeypatch.setattr(
        samples, "load_sample", lambda sample_id: types.SimpleNamespace(model_bytes=mf.to_bytes(mf.mlp()))
    )
    code, out, _ = run_cli(capsys, "inspect", "tiny_mlp", "--json")
    assert code == 0 and [x["id"] for x in json.loads(out)["layers"]] == ["fc1", "fc2", "proj"]


def test_real_bundled_sample(capsys):
    sample_id = samples.list_samples()[0].id
    code, out, err = run_cli(capsys, "inspect", sample_id, "--json")
    assert code == 0 and err == "" and json.loads(out)["layers"]


def test_subprocess_end_to_end(conv_path, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)

    def run(*a):
        return subprocess.run(
            [sys.executable, "-m", "qviz.cli.main", *map(str, a)], capture_output=True, text=True, cwd=REPO
        )

    ok = run("inspect", conv_path, "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["model"]["param_count"] == 490
    err = run("inspect", bad)
    assert err.returncode == 2 and err.stdout == "" and err.stderr.startswith("qviz: error: not an ONNX model")
    assert err.stderr.count("\n") == 1
