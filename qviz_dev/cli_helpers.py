"""Shared helpers of the CLI tests: run `qviz.cli.main.main` in-process, check the one-line error contract."""

from __future__ import annotations

from qviz.cli import main as cli


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `qviz ARGV...` run in this process (paths may be Path)."""
    code = cli.main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(result: tuple[int, str, str], fragment: str) -> None:
    """`result` from run_cli: exit 2, nothing on stdout, one 'qviz: error: ...' line holding
    `fragment` on stderr, no traceback."""
    code, out, err = result
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("qviz: error: ") and fragment in err
    assert "Traceback" not in err
