"""The installable product: the wheel built from this repository, installed alone in a fresh venv, runs.

Offline on purpose: the wheel is built with this interpreter's setuptools (pip wheel
--no-build-isolation, the `test` extra brings setuptools>=70.1), installed with --no-deps --no-index,
and the fresh venv borrows this environment's dependencies through a .pth line. A path line in a .pth
adds that folder to sys.path without running the .pth files in it, so the editable qviz of this
environment stays out: the test checks that qviz comes from the fresh venv.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import site
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

from qviz import samples

ROOT = Path(__file__).resolve().parents[2]
# Never copied into the build: version control, environments, earlier builds and caches.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".*_cache", "node_modules"
)
HEALTH_TIMEOUT = 60.0

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="venv layout bin/, exec")]

# Runs inside the fresh venv: every page of the INSTALLED app, through st.navigation.
RENDER_PAGES = """
import sys
from pathlib import Path

import qviz
from streamlit.testing.v1 import AppTest

from qviz.ui.navigation import PAGES, page_path

app = Path(qviz.__file__).parent / "app.py"
assert app.is_relative_to(sys.prefix), app
at = AppTest.from_file(str(app), default_timeout=60).run()
assert not at.exception, [e.value for e in at.exception]
titles = set()
for name, *_ in PAGES:
    assert Path(page_path(name)).is_relative_to(sys.prefix), page_path(name)
    at.switch_page(page_path(name)).run()
    assert not at.exception, (name, [e.value for e in at.exception])
    titles.add(tuple(t.value for t in at.title))
    print("rendered", name)
assert len(titles) == len(PAGES), titles  # each page showed its own title
"""


def run(cmd, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    assert out.returncode == 0, f"{cmd}\n--- stdout\n{out.stdout}\n--- stderr\n{out.stderr}"
    return out


def build_wheel(tmp: Path) -> Path:
    """The wheel of a clean copy of the repository (no build/ leftovers; nothing written into the repo)."""
    have = version("setuptools")
    if tuple(int(x) for x in have.split(".")[:2]) < (70, 1):
        pytest.fail(f"setuptools {have} here; building offline needs >=70.1: pip install -e '.[test]'")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=NOT_SOURCE)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(tmp / "dist"), str(src)])
    (wheel,) = (tmp / "dist").glob("qviz-*.whl")
    return wheel


def check_contents(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"qviz", next(t for t in top if t.endswith(".dist-info"))}, top  # no tests/, bench/, app.py...
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    views = sorted(p.name for p in (ROOT / "qviz" / "views").glob("*.py"))
    assert views and {f"qviz/views/{v}" for v in views} <= set(names)
    ids = samples.sample_ids()
    parts = ("model.onnx", "card.json", "calibration.npz", "test.npz")
    assert {f"qviz/samples/{i}/{p}" for i in ids for p in parts} <= set(names)
    photo_samples = [i for i in ids if (samples.SAMPLE_DATA_DIR / i / "photos.npz").exists()]
    assert {f"qviz/samples/{i}/photos.npz" for i in photo_samples} <= set(names)
    assert {"qviz/app.py", "qviz/samples/index.json", "qviz/cli/serve.py"} <= set(names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "qviz = qviz.cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def fresh_venv(tmp: Path, wheel: Path) -> Path:
    """A new venv holding only the wheel; this environment's packages visible behind it. Returns its bin/."""
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "--python", str(python)]
    run([*pip, "install", "--no-deps", "--no-index", str(wheel)])
    # NOTE: after the install: pip must not see (nor try to replace) this environment's editable qviz.
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    borrowed = [p for p in dict.fromkeys(site.getsitepackages()) if Path(p).is_dir()]
    (Path(purelib) / "_borrowed_dependencies.pth").write_text("\n".join(borrowed) + "\n", encoding="utf-8")
    return venv / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(proc: subprocess.Popen, url: str, log: Path) -> None:
    """Poll `url` until it answers "ok"; fail early if the server exits."""
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as r:
            if r.read().decode().strip() == "ok":
                return
        with contextlib.suppress(subprocess.TimeoutExpired):  # the pause between polls
            proc.wait(timeout=0.2)
            pytest.fail(f"qviz app exited with {proc.returncode}:\n{log.read_text()}")
    pytest.fail(f"no health 'ok' within {HEALTH_TIMEOUT:.0f} s:\n{log.read_text()}")


def stop(proc: subprocess.Popen) -> None:
    """End the server's process group (it was started in its own session)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_installed_wheel_serves_the_app(tmp_path):
    wheel = build_wheel(tmp_path)
    check_contents(wheel)
    bin_dir = fresh_venv(tmp_path, wheel)
    venv = bin_dir.parent

    cwd = tmp_path / "elsewhere"  # not the repository: no .streamlit/config.toml, no qviz/ beside
    (home := tmp_path / "home").mkdir()
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "STREAMLIT_", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")

    port = free_port()
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(bin_dir / "qviz"), "app", "--server.port", str(port), "--server.address", "127.0.0.1"],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # While the server starts: the package is the fresh venv's, the CLI works, every page renders.
        where = run([str(bin_dir / "python"), "-c", "import qviz; print(qviz.__file__)"], cwd=cwd, env=env)
        assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
        inspect = run([str(bin_dir / "qviz"), "inspect", "digits_mlp"], cwd=cwd, env=env)
        assert "quantizable layers:" in inspect.stdout and "op_type" in inspect.stdout, inspect.stdout
        pages = run([str(bin_dir / "python"), "-c", RENDER_PAGES], cwd=cwd, env=env)
        assert pages.stdout.count("rendered ") >= 7, pages.stdout

        wait_healthy(server, f"http://127.0.0.1:{port}/_stcore/health", log)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            assert r.status == 200
            assert 'id="root"' in r.read().decode()
        # `qviz app` became `python -P -m streamlit run <installed qviz>/app.py ...`, with qviz's settings.
        cmdline = Path(f"/proc/{server.pid}/cmdline")
        if cmdline.exists():
            argv = cmdline.read_bytes().decode().split("\0")
            assert argv[argv.index("run") + 1] == str(Path(where.stdout.strip()).parent / "app.py"), argv
            environ = Path(f"/proc/{server.pid}/environ").read_bytes().decode().split("\0")
            assert "STREAMLIT_CLIENT_SHOW_ERROR_DETAILS=none" in environ
            assert "STREAMLIT_SERVER_HEADLESS=true" in environ
    finally:
        stop(server)
