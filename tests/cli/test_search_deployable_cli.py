"""`qviz search` / `qviz sweep`: only candidates that deploy, unless --simulation-only."""

from __future__ import annotations

import json

from qviz_dev.cli_helpers import run_cli


def test_search_proposes_only_what_deploys(capsys):
    code, out, _ = run_cli(capsys, "search", "digits_mlp", "--budget-bpw", "4.5", "--json")
    doc = json.loads(out)
    assert code == 0 and set(doc["best"]["assignment"].values()) <= {"w8", "w4"}
    code, out, _ = run_cli(capsys, "search", "digits_mlp", "--budget-bpw", "4.5")
    assert code == 0 and "not searched (no deployable form; --simulation-only tries them): w6, w3, w2" in out


def test_search_simulation_only_names_the_layers(capsys):
    code, out, _ = run_cli(capsys, "search", "digits_mlp", "--budget-bpw", "4.5", "--simulation-only")
    assert code == 0 and "simulation only: /net/net.2/Gemm (w3): weights bits=3" in out


def test_search_max_evaluations(capsys):
    code, out, _ = run_cli(capsys, "search", "digits_mlp", "--budget-bpw", "4.5", "--max-evaluations", "2", "--json")
    assert code == 0 and len(json.loads(out)["evaluated"]) <= 2


def test_sweep_measures_what_deploys_unless_asked(capsys):
    code, out, err = run_cli(capsys, "sweep", "digits_mlp", "--bits", "8,2")
    header = out.splitlines()[1].split()
    assert code == 0 and header == ["candidate", "w8", "a8"] and "w2 not measured" in err and "a2 not measured" in err
    code, out, err = run_cli(capsys, "sweep", "digits_mlp", "--bits", "8,2", "--simulation-only")
    assert code == 0 and out.splitlines()[1].split() == ["candidate", "w8", "w2", "a8", "a2"]
