"""`qviz sweep|search --memory-mb MB`: the Runner keeps at most MB of the model's tensors."""

from __future__ import annotations

import json

import pytest

import qviz.evaluate
from qviz_dev.cli_helpers import assert_one_error_line, run_cli


@pytest.mark.parametrize(
    "command", [["sweep", "--bits", "8"], ["search", "--budget-bpw", "6"]], ids=["sweep", "search"]
)
def test_memory_mb_reaches_the_runner(capsys, monkeypatch, command):
    budgets = []
    real = getattr(qviz.evaluate, command[0])

    def spy(runner, *args, **kwargs):
        budgets.append(runner.memory_budget_bytes)
        return real(runner, *args, **kwargs)

    monkeypatch.setattr(qviz.evaluate, command[0], spy)
    code, out, _ = run_cli(capsys, command[0], "digits_mlp", *command[1:], "--memory-mb", "3", "--json")
    small = json.loads(out)
    code_default, out, _ = run_cli(capsys, command[0], "digits_mlp", *command[1:], "--json")
    assert code == code_default == 0 and budgets == [3 * 2**20, 2**30]
    key = "records" if command[0] == "sweep" else "best"
    assert small[key] == json.loads(out)[key]  # the same numbers with less memory


def test_memory_mb_must_not_be_negative(capsys):
    assert_one_error_line(run_cli(capsys, "sweep", "digits_mlp", "--memory-mb", "-1"), "--memory-mb")
