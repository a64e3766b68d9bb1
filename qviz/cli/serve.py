"""`qviz app [OPTIONS...]`: serve the app, exactly as `streamlit run <installed qviz>/app.py [OPTIONS...]`.

    qviz app                                            # http://localhost:8501
    qviz app --server.port 8600 --server.address 0.0.0.0
    qviz app --help                                     # every option (streamlit run's)

qviz's server settings (SETTINGS, the repository's .streamlit/config.toml) apply from any folder:
each one becomes its STREAMLIT_* environment variable, unless that variable is already set or the
user's own config.toml (~/.streamlit/ or ./.streamlit/) sets the option. Streamlit ranks flags
above environment variables, so the user's flags always win (`qviz app --server.maxUploadSize 50`).

# NOTE: no streamlit import here: the CLI's other commands start without it
# (tests/test_architecture.py). Streamlit runs in its own process, with this interpreter.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"

# Mirrors .streamlit/config.toml (tests/packaging/test_qviz_app.py checks it), less browser.serverAddress:
# an installed app may be served to other machines, so Streamlit shows the address it really binds.
SETTINGS = {
    "server.headless": "true",  # never open a browser, never prompt
    "server.showEmailPrompt": "false",
    "server.fileWatcherType": "none",  # installed code does not change while it runs
    "server.maxUploadSize": "200",  # MB
    "browser.gatherUsageStats": "false",
    "client.showErrorDetails": "none",  # users see a short message, the traceback goes to the server log
    "client.toolbarMode": "viewer",  # no "Deploy" button
}


def env_var(option: str) -> str:
    """The environment variable Streamlit reads for `option`: server.maxUploadSize -> STREAMLIT_SERVER_MAX_UPLOAD_SIZE."""
    return "STREAMLIT_" + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", option.replace(".", "_")).upper()


def user_config_options(cwd: Path | None = None, home: Path | None = None) -> set[str]:
    """The options ("section.name") set by the user's config.toml files, global and in the working folder."""
    import tomllib

    found = set()
    for folder in (home or Path.home(), cwd or Path.cwd()):
        try:
            doc = tomllib.loads((folder / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
        except (OSError, ValueError):  # missing or unreadable: Streamlit itself reports a broken file
            continue
        found |= {f"{section}.{name}" for section, table in doc.items() if isinstance(table, dict) for name in table}
    return found


def app_environment(environ: dict[str, str], user_options: set[str]) -> dict[str, str]:
    """`environ` plus qviz's SETTINGS as STREAMLIT_* variables, where the user has not chosen already."""
    env = dict(environ)
    for option, value in SETTINGS.items():
        if option not in user_options:
            env.setdefault(env_var(option), value)
    return env


def app_command(streamlit_args: list[str]) -> list[str]:
    """`python -m streamlit run <qviz>/app.py ARGS` with this interpreter.

    -P: the working folder is not put on sys.path (as with the `streamlit` script), so a local
    numpy.py or streamlit.py cannot shadow the real one."""
    return [sys.executable, "-P", "-m", "streamlit", "run", str(APP), *streamlit_args]


def cmd_app(args) -> int:
    command = app_command(args.streamlit_args)
    if {"-h", "--help"} & set(args.streamlit_args):  # streamlit's help follows; say what TARGET is
        print(f"usage: qviz app [OPTIONS...]\n\nstreamlit run {APP} [OPTIONS...], defaults {SETTINGS}.\n")
    env = app_environment(dict(os.environ), user_config_options())
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "nt":  # no real exec there
        import subprocess

        return subprocess.call(command, env=env)
    os.execve(sys.executable, command, env)  # Streamlit takes over this process (signals, exit code)
    return 0  # type: ignore[unreachable]  # execve never returns; reached when a test replaces it


def add_app(sub) -> None:
    # NOTE: prefix_chars="+": this parser has no "-" options, so every argument, `--server.port` first
    # included, lands in the REMAINDER list as given (argparse rejects an unknown leading option).
    p = sub.add_parser(
        "app",
        help="serve the app in the browser (options: those of `streamlit run`, e.g. --server.port 8600)",
        prefix_chars="+",
        add_help=False,
    )
    p.add_argument("streamlit_args", nargs=argparse.REMAINDER, metavar="OPTION")
    p.set_defaults(func=cmd_app)
