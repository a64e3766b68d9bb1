"""Dependencies point one way (see qviz/__init__.py): the core never pulls in the heavy layers."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from qviz_dev.code_rules import CODE_RULES, RULES_KEY, ToolRun

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("streamlit", "plotly", "onnx", "onnxruntime", "pandas")


def loaded_after_import(module: str) -> set[str]:
    """Top-level package names in sys.modules after importing `module` in a fresh interpreter."""
    code = f"import json, sys, {module}; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", ["qviz.quant", "qviz.config", "qviz.lessons", "qviz.lessons.lesson"])
def test_core_is_numpy_only(module):
    assert loaded_after_import(module).isdisjoint(HEAVY)


@pytest.mark.parametrize("module", ["qviz.model", "qviz.evaluate", "qviz.worker", "qviz.cli.main"])
def test_engine_layers_do_not_import_the_ui(module):
    """The model/evaluation/worker layers and the CLI run without streamlit or plotly."""
    assert loaded_after_import(module).isdisjoint({"streamlit", "plotly"})


def test_plots_do_not_import_streamlit():
    loaded = loaded_after_import("qviz.plots")
    assert "plotly" in loaded
    assert "streamlit" not in loaded


def test_i18n_is_plain_data():
    assert loaded_after_import("qviz.ui.i18n").isdisjoint(HEAVY)


PAGE_SCRIPTS = [
    "app.py",
    "qviz/app.py",
    *sorted(f"qviz/views/{p.name}" for p in (ROOT / "qviz" / "views").glob("*.py")),
]


@pytest.mark.parametrize("path", PAGE_SCRIPTS, ids=lambda p: p)
def test_pages_do_no_arithmetic(path):
    """Pages read widgets, call qviz, render: no numpy (or pandas) in the app's entries and views."""
    source = (ROOT / path).read_text(encoding="utf-8")
    assert not re.search(r"^\s*(import|from)\s+(numpy|pandas)\b", source, flags=re.MULTILINE)


def test_every_navigation_entry_exists():
    from qviz.ui.navigation import PAGES, page_path

    assert PAGES[0][0] == "learn"
    assert all(Path(page_path(name)).is_file() for name, *_ in PAGES)


def test_no_two_modules_share_a_name_unless_they_are_one_pages_pieces():
    """One name, one concept. The exception is the README's convention: a page's pieces in different
    layers share the page's name (qviz/views/tune.py, qviz/ui/tune.py, qviz/plots/tune.py)."""
    from qviz.ui.navigation import PAGES

    pages = {name for name, *_ in PAGES}
    paths = [p for p in (ROOT / "qviz").rglob("*.py") if p.name != "__init__.py"]
    names = [p.stem for p in paths] + [p.parent.name for p in (ROOT / "qviz").rglob("__init__.py")]
    shared = {n for n in names if names.count(n) > 1} - pages
    assert not shared, f"module names used for different things: {sorted(shared)}"
    for name in pages:  # a page's pieces live only in the page layers
        homes = {p.parent.relative_to(ROOT).as_posix() for p in paths if p.stem == name}
        assert homes <= {"qviz/views", "qviz/ui", "qviz/plots"}, (name, homes)


@pytest.mark.parametrize("rule", list(CODE_RULES))
def test_code_rules_hold(rule, request):
    """import-linter, ruff (lint and format) and mypy pass; started in the background (tests/conftest.py)."""
    run = request.config.stash.get(RULES_KEY, {}).get(rule) or ToolRun(CODE_RULES[rule])
    code, output = run.result()
    assert code == 0, output[-4000:]
