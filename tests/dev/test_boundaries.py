"""The dev helpers stay apart: qviz never imports qviz_dev, and bench/ and scripts/ take their helpers
from qviz_dev (never from tests/), with only the repository root added to sys.path."""

import re

import pytest

from qviz_dev import REPO

IMPORT_TESTS = re.compile(r"^\s*(from|import)\s+tests\b", re.MULTILINE)
SYS_PATH = re.compile(r"^.*sys\.path.*$", re.MULTILINE)
TOOLS = sorted(p.relative_to(REPO).as_posix() for folder in ("bench", "scripts") for p in (REPO / folder).glob("*.py"))


def test_qviz_never_imports_the_dev_helpers():
    users = [p for p in (REPO / "qviz").rglob("*.py") if re.search(r"\bqviz_dev\b", p.read_text(encoding="utf-8"))]
    assert users == []


@pytest.mark.parametrize("path", TOOLS)
def test_tools_never_import_tests_and_add_only_the_root_to_sys_path(path):
    source = (REPO / path).read_text(encoding="utf-8")
    assert not IMPORT_TESTS.search(source)
    for line in SYS_PATH.findall(source):
        assert '"tests"' not in line and '"bench"' not in line and '"security"' not in line, line
