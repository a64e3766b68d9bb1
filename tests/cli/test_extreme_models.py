"""Extreme but legal models through every CLI command: a result, or one clear error line (issue 12, item 7).

Huge (1e38, float32's max) and tiny (1e-38) weights, NaN/Inf weights, one layer, no layer at all:
each command either succeeds or says in one line why it cannot ("unexpected <Exception>" is a bug).
"""

from __future__ import annotations

import pytest

from qviz_dev import hostile_models as hm
from qviz_dev.cli_helpers import run_cli

COMMANDS = {
    "inspect": ["inspect", "{model}", "--json"],
    "quantize": ["quantize", "{model}", "--out", "{tmp}/q.onnx"],
    "deploy": ["quantize", "{model}", "--deploy", "--out", "{tmp}/d.onnx"],
    "export_config": ["export-config", "{model}", "--ort-overrides", "{tmp}/o.json"],
    "evaluate": ["evaluate", "{model}"],
    "sweep": ["sweep", "{model}", "--bits", "4,8"],
    "search": ["search", "{model}", "--budget-bpw", "6"],
    "check": ["check", "{model}"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("name", list(hm.EXTREME))
def test_every_command_succeeds_or_says_why(name, command, tmp_path, capsys):
    model = tmp_path / f"{name}.onnx"
    model.write_bytes(hm.mf.to_bytes(hm.EXTREME[name]()))
    argv = [part.format(model=model, tmp=tmp_path) for part in COMMANDS[command]]
    code, _out, err = run_cli(capsys, *argv)
    if code == 0:
        return
    lines = [line for line in err.splitlines() if line.startswith("qviz: error: ")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "unexpected" not in lines[0] and "Error:" not in lines[0], lines[0]
