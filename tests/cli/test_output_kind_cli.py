"""`qviz evaluate / sweep / search` say which measure applied (--output-kind), and bound the JSON."""

from __future__ import annotations

import json

import numpy as np

from qviz_dev import model_factory as mf
from qviz_dev import output_models as om
from qviz_dev.cli_helpers import assert_one_error_line, run_cli


def files(tmp_path, model, n=16, y=None):
    """model.onnx and data.npz (x, optional y) in tmp_path: the paths."""
    path, data = tmp_path / "m.onnx", tmp_path / "d.npz"
    path.write_bytes(mf.to_bytes(model))
    x = mf.random_inputs(model, batch=n, seed=0)["x"]
    np.savez(data, x=x, **({} if y is None else {"y": y}))
    return path, data


def test_evaluate_prints_the_measure_and_na_for_values(capsys, tmp_path):
    path, data = files(tmp_path, om.detection_head(k=20), n=4)
    code, out, _ = run_cli(capsys, "evaluate", path, "--data", data, "--calib", data, "--preset", "w4a8")
    assert code == 0 and "measure   output 'y': values, no class decision" in out
    assert "agreement n/a" in out and "kl n/a" in out
    code, out, _ = run_cli(capsys, "evaluate", path, "--data", data, "--calib", data, "--output-kind", "classes:1")
    assert code == 0 and "argmax over axis 1 at 20 positions" in out and "(given)" in out


def test_evaluate_sequence_labels_per_position(capsys, tmp_path):
    model = om.sequence(t=4, c=5)
    path, data = files(tmp_path, model, n=8, y=np.arange(32).reshape(8, 4) % 5)
    code, out, _ = run_cli(capsys, "evaluate", path, "--data", data, "--calib", data, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["output_kinds"][0]["positions"] == 4 and doc["accuracy"] is not None
    assert sum(r["count"] for r in doc["per_class"]) == 32 and "axis 2 at 4 positions" in doc["measure"]


def test_evaluate_json_lists_classes_only_up_to_100(capsys, tmp_path):
    path, data = files(tmp_path, om.logit_classifier(150), n=16, y=np.arange(16) * 9)
    code, out, _ = run_cli(capsys, "evaluate", path, "--data", data, "--calib", data, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["classes"] == 150 and doc["per_class"] is None and doc["confusion"] is None
    code, out, _ = run_cli(capsys, "evaluate", path, "--data", data, "--calib", data, "--json", "--per-class")
    doc = json.loads(out)
    assert code == 0 and len(doc["per_class"]) == 16 and len(doc["confusion"]) == 150


def test_sweep_and_search_on_values_say_why_the_damage_is_sqnr(capsys, tmp_path):
    path, data = files(tmp_path, om.detection_head(k=20), n=4)
    code, out, err = run_cli(capsys, "sweep", path, "--data", data, "--calib", data, "--bits", "4", "--json")
    assert code == 0 and json.loads(out)["metric"] == "sqnr_db" and "qviz: note: accuracy needs a class decision" in err
    code, out, err = run_cli(capsys, "search", path, "--data", data, "--calib", data, "--budget-bpw", "6")
    assert code == 0 and "sqnr_db" in out and "kl n/a" in out and "note: accuracy needs a class decision" in err


def test_bad_output_kind_is_one_error_line(capsys, tmp_path):
    path, data = files(tmp_path, om.sigmoid_head(), n=4)
    for argv, fragment in [
        (("evaluate", path, "--data", data, "--output-kind", "boxes"), "output_kind must be auto or one of"),
        (("sweep", path, "--data", data, "--output-kind", "classes"), "no class axis"),
    ]:
        assert_one_error_line(run_cli(capsys, *argv, "--calib", data), fragment)
