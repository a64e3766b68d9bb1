"""The code-rule tools (import-linter, ruff, mypy) run as background processes of this virtual environment.

tests/conftest.py starts every rule the session selected right after collection, so mypy's cold
run (about 25 s) overlaps the rest of the suite on the other core; tests/test_architecture.py
waits for each one's result.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from qviz_dev import REPO

# test id -> command; each tool reads its configuration from pyproject.toml
CODE_RULES = {
    "lint-imports": ("lint-imports",),  # the layers, the model's parts, no import cycles
    "ruff check": ("ruff", "check", "."),
    "ruff format": ("ruff", "format", "--check", "."),
    "mypy": ("mypy",),  # strict on qviz.quant and qviz.config, normal elsewhere
}


# where tests/conftest.py keeps the runs it started: {rule: ToolRun}
RULES_KEY = pytest.StashKey[dict]()


class ToolRun:
    """One tool started now in the repository; `result()` waits for (exit code, its output)."""

    def __init__(self, command: tuple[str, ...]):
        self._out = tempfile.TemporaryFile()  # noqa: SIM115 - the tool writes to it until result() closes it
        tool = Path(sys.executable).with_name(command[0])
        self._proc = subprocess.Popen([str(tool), *command[1:]], cwd=REPO, stdout=self._out, stderr=subprocess.STDOUT)

    def result(self, timeout: float = 600) -> tuple[int, str]:
        code = self._proc.wait(timeout)
        with self._out:
            self._out.seek(0)
            return code, self._out.read().decode(errors="replace")
