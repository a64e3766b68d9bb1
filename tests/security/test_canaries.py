"""No byte of a planted secret reaches any result, message or log, whatever the upload says.

Canaries: the server's cwd (`.streamlit/secrets.toml`, `x`, `secrets.toml`), its $HOME, its temp
dir, the worker's own home (the zygote's directory, parent of every worker's cwd) and an
environment variable. Every corpus model runs, and test-only tasks look around from inside a
worker and feed external-data models to onnxruntime with no qviz check at all.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import pytest

from qviz.model import ModelError
from qviz.worker import WorkerError
from qviz_dev import hostile_models as hm
from qviz_dev.workers import make_pool

CANARY = "CANARY-d41d8cd9-never-leak"
ALLOWED_ENV = {
    "PATH",
    "HOME",
    "TMPDIR",
    "LANG",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONHASHSEED",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "ORT_NUM_THREADS",
    "ARROW_DEFAULT_MEMORY_POOL",
}


def plant(directory, names=("secrets.toml", ".streamlit/secrets.toml", "x")) -> None:
    for name in names:
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"token = '{CANARY}'\n" * 64)


@pytest.fixture
def canary_pool(tmp_path, monkeypatch):
    """A pool started while the server's cwd, HOME, temp dir and environment all hold canaries."""
    server, home, tmp = tmp_path / "server", tmp_path / "home", tmp_path / "tmp"
    for d in (server, home, tmp):
        d.mkdir()
        plant(d)
    monkeypatch.chdir(server)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("QVIZ_TEST_SECRET", CANARY)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    pool = make_pool(base_dir=str(tmp)).start()
    plant(Path(pool._zygote.dir))
    yield pool
    pool.close()


def _outcome(pool, task, *args) -> str:
    try:
        return repr(pool.call(task, *args))
    except (ModelError, WorkerError) as e:
        return f"{type(e).__name__}: {e}"


def test_no_canary_in_any_corpus_result_or_log(canary_pool, caplog):
    caplog.set_level(logging.DEBUG)
    texts = []
    for case in hm.CORPUS.values():
        texts.append(_outcome(canary_pool, case.task, case.data, *([case.feeds] if case.task == "run_model" else [])))
    texts.append(caplog.text)
    assert not [t for t in texts if CANARY in t]
    assert sum("external data" in t for t in texts) >= 15


def test_worker_sees_no_secret_env_and_an_empty_cwd(canary_pool):
    seen = canary_pool.call("probe")
    assert set(seen["environ"]) <= ALLOWED_ENV
    assert CANARY not in repr(seen)
    assert seen["listing"] == []
    assert seen["home"] == canary_pool._zygote.dir != os.environ["HOME"]
    assert os.path.dirname(seen["cwd"]) == seen["home"]


@pytest.mark.parametrize("location", ["secrets.toml", ".streamlit/secrets.toml", "x"])
def test_unchecked_onnxruntime_in_a_worker_finds_nothing_in_its_cwd(canary_pool, location):
    """Defense in depth: even with qviz's checks bypassed, relative external data resolves in
    the worker's empty cwd, not the server's (which holds the canaries)."""
    data = hm.mf.to_bytes(hm.ext_initializer(location))
    seen = canary_pool.call("ort_unchecked", data)
    assert not seen["loaded"] and CANARY not in seen["error"]


def test_canary_is_reachable_without_the_worker(tmp_path, monkeypatch):
    """The threat is real: in the server's own cwd, the onnx helpers read the planted file."""
    plant(tmp_path)
    monkeypatch.chdir(tmp_path)
    t = hm.mf.set_external(hm.mf.init("w", hm.np.zeros(4, hm.np.float32)), "secrets.toml")
    leaked = hm.onnx.numpy_helper.to_array(t, base_dir=str(tmp_path))
    assert leaked.tobytes() == f"token = '{CANARY}"[:16].encode()  # 4 floats = 16 bytes
