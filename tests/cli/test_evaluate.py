"""`qviz evaluate`, `qviz sweep`, `qviz search`: output, files written, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from qviz.cli import main as cli
from qviz.config import PRESETS, ModelConfig
from qviz.samples import load_sample
from qviz_dev import model_factory as mf
from qviz_dev.cli_helpers import assert_one_error_line, run_cli


def test_evaluate_sample_json(capsys):
    code, out, err = run_cli(capsys, "evaluate", "digits_mlp", "--preset", "w8a8", "--json")
    doc = json.loads(out)
    assert code == 0 and err == ""
    assert doc["n"] == 360 and doc["float_accuracy"] == pytest.approx(
        load_sample("digits_mlp").card["fp32_test_accuracy"], abs=1e-3
    )
    assert ModelConfig.from_dict(doc["config"]) == PRESETS["w8a8"]


def test_evaluate_config_file_and_npz(capsys, tmp_path):
    model = tmp_path / "m.onnx"
    model.write_bytes(mf.to_bytes(mf.conv_net()))
    (tmp_path / "c.json").write_text(PRESETS["w4g32"].to_json())
    np.savez(tmp_path / "d.npz", x=mf.rand((6, 3, 8, 8), 9), y=np.arange(6) % 3)
    code, out, err = run_cli(capsys, "evaluate", model, "--config", tmp_path / "c.json", "--data", tmp_path / "d.npz")
    assert code == 0 and "accuracy  float" in out and "6 samples" in out
    assert "warning" in err  # no --calib: generated calibration inputs
    code, out, err = run_cli(capsys, "evaluate", model, "--json")
    assert json.loads(out)["accuracy"] is None and "generated inputs" in err


def test_sweep_text_csv_and_json(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "sweep", "digits_mlp", "--bits", "8,2", "--simulation-only")
    assert code == 0 and "w2" in out and "a8" in out
    code, _, _err = run_cli(
        capsys, "sweep", "digits_mlp", "--bits", "4", "--simulation-only", "--csv", tmp_path / "s.csv"
    )
    df = pd.read_csv(tmp_path / "s.csv")
    assert code == 0 and len(df) == 6 and {"layer", "candidate", "damage", "kl"} <= set(df.columns)
    code, out, _ = run_cli(capsys, "sweep", "digits_mlp", "--bits", "4", "--metric", "kl", "--json")
    assert json.loads(out)["metric"] == "kl"


def test_search_writes_config(capsys, tmp_path):
    code, out, err = run_cli(capsys, "search", "digits_mlp", "--budget-bpw", "5", "--out", tmp_path / "best.json")
    cfg = ModelConfig.from_json((tmp_path / "best.json").read_text())
    assert code == 0 and "best" in out and err == "" and len(cfg.layers) == 3
    code, out, _ = run_cli(capsys, "search", "digits_mlp", "--budget-bytes", "30000", "--json")
    assert json.loads(out)["best"]["weight_bytes"] <= 30000


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["search", "digits_mlp"], "one of the arguments --budget-bytes"),
        (["search", "digits_mlp", "--budget-bytes", "10", "--budget-bpw", "4"], "not allowed with"),
        (["search", "digits_mlp", "--budget-bytes", "10"], "no evaluated configuration meets the budget"),
        (["search", "digits_mlp", "--budget-bpw", "-1"], "must be a positive number"),
        (["sweep", "digits_mlp", "--bits", "8,x"], "--bits must be comma-separated"),
        (["sweep", "digits_mlp", "--bits", "1"], "2..16"),
        (["sweep", "digits_mlp", "--json", "--csv", "x.csv"], "not allowed with"),
        (["evaluate", "digits_mlp", "--preset", "w9"], "preset must be one of"),
        (["evaluate", "nope.onnx"], "no such file or bundled sample"),
        (["evaluate", "digits_mlp", "--data", "missing.npz"], "missing.npz"),
    ],
    ids=[
        "no-budget",
        "two-budgets",
        "unreachable",
        "negative",
        "bits-text",
        "bits-range",
        "json-csv",
        "preset",
        "model",
        "data-file",
    ],
)
def test_errors_are_one_line(capsys, argv, fragment):
    assert_one_error_line(run_cli(capsys, *argv), fragment)


class _Tty:
    """A stderr stand-in that says it is a terminal."""

    def __init__(self):
        self.text = ""

    def isatty(self):
        return True

    def write(self, s):
        self.text += s

    def flush(self):
        pass


def test_progress_bar_only_on_a_terminal(capsys, monkeypatch):
    tty = _Tty()
    monkeypatch.setattr("sys.stderr", tty)
    assert cli.main(["sweep", "digits_mlp", "--bits", "8", "--json"]) == 0
    assert "sweep [" in tty.text and "6/6" in tty.text and tty.text.endswith("\n")
    json.loads(capsys.readouterr().out)  # stdout stays pure JSON
