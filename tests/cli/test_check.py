"""`qviz check`: the deployed model against the simulation, per tensor, end to end; errors in one line."""

from __future__ import annotations

import json

from qviz_dev import model_factory as mf
from qviz_dev.cli_helpers import assert_one_error_line, run_cli
from tests.model.test_tensor_check import add_mul_net


def test_check_sample_prints_table_and_both_metrics(capsys):
    code, out, err = run_cli(capsys, "check", "digits_cnn", "--preset", "w8a8", "--reduce-range", "off", "--all")
    assert code == 0, err
    assert "tensors " in out and " pass " in out and "input" in out
    sim_line = next(line for line in out.splitlines() if line.startswith("simulated"))
    dep_line = next(line for line in out.splitlines() if line.startswith("deployed"))
    assert "accuracy" in sim_line and "sqnr" in sim_line and "accuracy" in dep_line


def test_check_json(capsys):
    code, out, _ = run_cli(capsys, "check", "digits_transformer", "--json", "--reduce-range", "off")
    doc = json.loads(out)
    assert code == 0 and doc["total"] == len(doc["tensors"]) > 0 and doc["kernels_kept"]
    assert set(doc["end_to_end"]) == {"simulated", "deployed"}
    assert doc["end_to_end"]["deployed"]["accuracy"] is not None  # the sample has labels
    worst = [t["passed"] for t in doc["tensors"]]
    assert worst == sorted(worst)  # failing tensors first
    assert all(t["reason"] for t in doc["tensors"] if not t["passed"])


def test_check_add_mul_model_lists_the_add_and_mul_outputs(capsys, tmp_path):
    model = tmp_path / "m.onnx"
    model.write_bytes(mf.to_bytes(add_mul_net()))
    code, out, err = run_cli(capsys, "check", model, "--json")
    doc = json.loads(out)
    assert code == 0 and "generated inputs" in err
    rows = {t["tensor"]: t for t in doc["tensors"]}
    for name in ("h1", "h2"):  # Add and Mul outputs: quantized by onnxruntime's quantizer
        assert rows[name]["passed"] or rows[name]["reason"]
    assert doc["end_to_end"]["deployed"]["accuracy"] is None  # no labels: fidelity only


def test_check_errors_are_one_line(capsys, tmp_path):
    assert_one_error_line(run_cli(capsys, "check", tmp_path / "missing.onnx"), "no such file")
    assert_one_error_line(
        run_cli(capsys, "check", "digits_cnn", "--preset", "w8a8", "--config", tmp_path / "c.json"), "not both"
    )
