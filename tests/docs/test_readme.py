"""The README's ```bash blocks work as written.

Every `qviz ...` line runs (in-process, through the function pyproject's console script names,
in an empty working directory): exit code 0, something printed, and every file it is told to
write (--out, --ort-overrides, --csv) written and non-empty. A command that hands its process
over to a server (`qviz app` execs `streamlit run`) is stopped at the exec: the command it would
run is checked instead (Streamlit's, on a script that exists, every --option one Streamlit knows).
Other lines are checked without running them: `make X` names a Makefile target; a
`pythonX.Y -m venv` matches requires-python; `pip install` pins agree with pyproject's; a
`python path/to/script.py` names a file that exists. A line none of these rules covers fails: a
new kind of README command needs a check here.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
OUTPUT_OPTIONS = ("--out", "--ort-overrides", "--csv")
SLOW_COMMANDS = (["search"],)  # `qviz search ...`: more than ~5 s on its own (the MobileNet search)


def bash_lines(text: str) -> list[str]:
    """The command lines of every ```bash block: comments stripped, `\\` continuations joined."""
    lines = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, flags=re.M | re.S):
        for line in block.replace("\\\n", " ").splitlines():
            command = " ".join(shlex.split(line, comments=True))
            if command:
                lines.append(command)
    return lines


LINES = bash_lines(README.read_text(encoding="utf-8"))
QVIZ_LINES = [x for x in LINES if x.split()[0] == "qviz"]
OTHER_LINES = [x for x in LINES if x.split()[0] != "qviz"]


def _id(line: str) -> str:
    return line if len(line) <= 60 else line[:57] + "..."


def _params(lines: list[str]) -> list:
    """One pytest.param per line, its id the command; `slow` for SLOW_COMMANDS."""
    slow = [pytest.mark.slow]
    return [pytest.param(x, id=_id(x), marks=slow if x.split()[1:2] in SLOW_COMMANDS else []) for x in lines]


def console_script():
    """The callable `qviz` runs: [project.scripts] qviz = "module:function"."""
    module, _, attr = PYPROJECT["project"]["scripts"]["qviz"].partition(":")
    target = getattr(importlib.import_module(module), attr)
    assert callable(target), f"pyproject's qviz = {module}:{attr} is not a function (a module?)"
    return target


def test_readme_has_commands():
    assert QVIZ_LINES, "no `qviz ...` line in the README's ```bash blocks (did the fence change?)"
    assert any(x.startswith("make ") for x in OTHER_LINES)


def test_console_script_is_a_function():
    console_script()


def check_server_command(line: str, command: list[str]) -> None:
    """`command`, which `line` would have exec'd: streamlit run on an existing script, known options."""
    from streamlit import config

    assert command[command.index("-m") + 1 : command.index("-m") + 3] == ["streamlit", "run"], command
    script = Path(command[command.index("run") + 1])
    assert script.is_file(), f"`{line}` would serve {script}, which does not exist"
    options = config.get_config_options()
    unknown = [a for a in command if a.startswith("--") and a[2:].split("=")[0] not in options]
    assert not unknown, f"`{line}`: streamlit has no option {unknown}"


@pytest.mark.parametrize("line", _params(QVIZ_LINES))
def test_qviz_command_runs(line, tmp_path, monkeypatch, capsys):
    argv = shlex.split(line)[1:]
    outputs = [tmp_path / argv[i + 1] for i, a in enumerate(argv[:-1]) if a in OUTPUT_OPTIONS]
    execs = []  # a server command would replace this process: record what it would run instead
    monkeypatch.setattr("os.execve", lambda path, args, env: execs.append(list(args)))
    monkeypatch.setattr("os.execv", lambda path, args: execs.append(list(args)))
    monkeypatch.chdir(tmp_path)
    code = console_script()(argv)
    out, err = capsys.readouterr()
    assert code == 0, f"`{line}` exited {code}: {err.strip()}"
    assert "qviz: error" not in err
    if execs:
        check_server_command(line, execs[-1])
        return
    for path in outputs:
        assert path.is_file() and path.stat().st_size > 0, f"`{line}` did not write {path.name}"
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
    if not outputs:  # a command that writes files may be silent on success (export-config is)
        assert out.strip(), f"`{line}` printed nothing"


# ----- lines that are not qviz commands: what can be checked without running them -----


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, flags=re.M))


def pinned_requirements() -> dict[str, Requirement]:
    """Every requirement of pyproject (dependencies and all extras), by canonical name."""
    project = PYPROJECT["project"]
    specs = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    return {Requirement(s).name.lower(): Requirement(s) for s in specs}


def check_part(words: list[str]) -> list[str]:
    """Check one `&&`-separated command; return what was checked (empty: nothing applied)."""
    checked = []
    program = Path(words[0]).name
    if program == "make":
        missing = set(words[1:]) - makefile_targets()
        assert not missing, f"Makefile has no target {sorted(missing)}"
        checked.append("make targets")
    if re.fullmatch(r"python3\.\d+", program) and words[1:3] == ["-m", "venv"]:
        requires = SpecifierSet(PYPROJECT["project"]["requires-python"])
        assert program.removeprefix("python") + ".0" in requires, f"{program} is outside requires-python {requires}"
        checked.append("python version")
    if program in ("pip", "pip3") and words[1:2] == ["install"]:
        pins = pinned_requirements()
        names = {Requirement(w).name.lower() for w in words[2:] if not w.startswith("-")}
        for word in words[2:]:
            req = Requirement(word)
            known = pins.get(req.name.lower())
            if req.specifier and known is not None:
                assert req.specifier == known.specifier, f"README pins {word}, pyproject {known}"
        if any(".venv-samples" in w for w in words[:1]):  # the samples environment: the `samples` extra
            extra = {Requirement(r).name.lower() for r in PYPROJECT["project"]["optional-dependencies"]["samples"]}
            assert extra <= names, f"README's install misses {sorted(extra - names)} of the samples extra"
        checked.append("pip pins")
    if re.fullmatch(r"python(3(\.\d+)?)?", program):
        for script in (w for w in words[1:] if w.endswith(".py")):
            assert (ROOT / script).is_file(), f"{script} does not exist in the repository"
            checked.append(f"{script} exists")
    return checked


@pytest.mark.parametrize("line", _params(OTHER_LINES))
def test_other_command_is_consistent(line):
    parts = [shlex.split(part) for part in line.split("&&")]
    checked = [c for words in parts for c in check_part(words)]
    assert checked, f"no check knows the README line `{line}`: add one to tests/docs/test_readme.py"
