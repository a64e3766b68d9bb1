"""`qviz app`: the streamlit command it becomes and the settings it brings (qviz/cli/serve.py)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from qviz.cli import serve
from qviz.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def repo_settings() -> dict[str, str]:
    doc = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    as_text = {True: "true", False: "false"}
    return {f"{s}.{k}": as_text.get(v, str(v)) for s, table in doc.items() for k, v in table.items()}


def test_settings_are_the_repositorys():
    expected = repo_settings()
    del expected["browser.serverAddress"]  # on purpose: see serve.SETTINGS
    assert expected == serve.SETTINGS


def test_env_var_names():
    assert serve.env_var("server.maxUploadSize") == "STREAMLIT_SERVER_MAX_UPLOAD_SIZE"
    assert serve.env_var("server.showEmailPrompt") == "STREAMLIT_SERVER_SHOW_EMAIL_PROMPT"
    assert serve.env_var("client.showErrorDetails") == "STREAMLIT_CLIENT_SHOW_ERROR_DETAILS"


def test_the_users_choices_win(tmp_path):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "config.toml").write_text('[client]\ntoolbarMode = "developer"\n', encoding="utf-8")
    user = serve.user_config_options(cwd=tmp_path, home=tmp_path / "nowhere")
    assert user == {"client.toolbarMode"}
    env = serve.app_environment({"STREAMLIT_SERVER_MAX_UPLOAD_SIZE": "50", "PATH": "/bin"}, user)
    assert env["STREAMLIT_SERVER_MAX_UPLOAD_SIZE"] == "50"  # the user's variable
    assert "STREAMLIT_CLIENT_TOOLBAR_MODE" not in env  # the user's config.toml
    assert env["STREAMLIT_CLIENT_SHOW_ERROR_DETAILS"] == "none"
    assert env["PATH"] == "/bin"


def test_a_broken_user_config_is_left_to_streamlit(tmp_path):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "config.toml").write_text("[client\n", encoding="utf-8")
    assert serve.user_config_options(cwd=tmp_path, home=tmp_path) == set()


def test_streamlit_reads_the_settings_and_flags_override_them(tmp_path):
    """What `streamlit config show` reports in a folder without config.toml, given qviz's environment."""
    env = serve.app_environment({"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, set())
    cmd = [sys.executable, "-m", "streamlit", "config", "show", "--server.maxUploadSize", "50"]
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    shown = tomllib.loads(out[out.index("[global]") :])  # the options set, as TOML (defaults are comments)
    assert shown["server"]["maxUploadSize"] == 50  # the flag
    assert shown["server"]["headless"] is True
    assert shown["server"]["fileWatcherType"] == "none"
    assert shown["browser"]["gatherUsageStats"] is False
    assert shown["client"] == {"showErrorDetails": "none", "toolbarMode": "viewer"}


@pytest.mark.parametrize(
    "argv", [[], ["--server.port", "8600", "--server.address", "127.0.0.1"], ["--help"], ["--", "x"]]
)
def test_qviz_app_execs_streamlit_run(monkeypatch, tmp_path, argv):
    monkeypatch.chdir(tmp_path)  # no config.toml here nor in HOME
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("STREAMLIT_SERVER_HEADLESS", raising=False)
    calls = []
    monkeypatch.setattr(serve.os, "execve", lambda path, args, env: calls.append((path, args, env)))
    assert main(["app", *argv]) == 0
    ((path, args, env),) = calls
    assert path == sys.executable
    assert args == [sys.executable, "-P", "-m", "streamlit", "run", str(ROOT / "qviz" / "app.py"), *argv]
    assert env["STREAMLIT_SERVER_HEADLESS"] == "true"
