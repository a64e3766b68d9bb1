"""--max-model-mb on every command that takes MODEL; a model with external data files beside it."""

from __future__ import annotations

import onnx
import pytest

from qviz_dev import model_factory as mf
from qviz_dev.cli_helpers import assert_one_error_line, run_cli


@pytest.fixture
def external_path(tmp_path):
    """A ~2 MiB model (two 512 x 512 Gemms) whose weights are in net.data beside net.onnx."""
    path = tmp_path / "net.onnx"
    onnx.save_model(mf.gemm_stack(2, 512), path, save_as_external_data=True, location="net.data")
    return path


COMMANDS = [
    ["inspect"],
    ["quantize", "--out", "OUT"],
    ["export-config", "--ort-overrides", "OUT"],
    ["evaluate"],
    ["sweep"],
    ["search", "--budget-bpw", "6"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_model_command_takes_the_cap(capsys, tmp_path, external_path, command):
    argv = [command[0], external_path, *(str(tmp_path / a) if a == "OUT" else a for a in command[1:])]
    assert_one_error_line(run_cli(capsys, *argv, "--max-model-mb", "1"), "the limit is 1 MiB")


def test_a_bad_cap_is_a_usage_error(capsys, external_path):
    assert_one_error_line(run_cli(capsys, "inspect", external_path, "--max-model-mb", "0"), "whole number of MiB")


def test_external_data_loads_within_the_cap(capsys, external_path):
    code, out, _ = run_cli(capsys, "evaluate", external_path, "--max-model-mb", "3")
    assert code == 0 and "fidelity" in out
