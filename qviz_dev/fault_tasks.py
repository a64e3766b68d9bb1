"""Test-only worker tasks: preloaded by the test pools (qviz_dev.workers.make_pool), never by the app."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import onnxruntime as ort

from qviz.worker.tasks import describe_upload, register_task


def segfault():
    os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(10)


def kill9():
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(10)


def hang():
    time.sleep(1000)


def spin():
    while True:
        pass


def alloc(nbytes: int):
    return {"sum": int(np.ones(nbytes, np.uint8).sum())}


def slow_describe(seconds: float, data: bytes):
    time.sleep(seconds)
    return describe_upload(data)


def fail(note: str = ""):
    raise KeyError("a qviz bug" + note)


def big_result(nbytes: int):
    return {"x": np.zeros(nbytes, np.uint8)}


def unsendable():
    return {"x": object()}


def probe():
    """What a worker can see of its surroundings."""
    return {
        "environ": dict(os.environ),
        "cwd": os.getcwd(),
        "listing": os.listdir("."),
        "home": os.environ.get("HOME"),
        "tmp_listing": os.listdir(os.environ.get("TMPDIR", "/nonexistent")),
    }


def ort_unchecked(data: bytes):
    """onnxruntime on raw upload bytes with NO qviz checks: what the empty cwd alone protects."""
    try:
        ort.InferenceSession(bytes(data), providers=["CPUExecutionProvider"])
        return {"loaded": True, "error": ""}
    except Exception as e:  # noqa: BLE001 - the message itself is the result under test
        return {"loaded": False, "error": str(e)}


def threads_running(data: bytes, feeds: dict):
    """OS threads of a worker while it holds a session of the model, after running it once."""
    from qviz.model import make_session

    sess = make_session(data)
    sess.run(None, feeds)
    return {"threads": len(os.listdir("/proc/self/task"))}


for _fn in (
    threads_running,
    segfault,
    kill9,
    hang,
    spin,
    alloc,
    slow_describe,
    fail,
    big_result,
    unsendable,
    probe,
    ort_unchecked,
):
    register_task(_fn.__name__, _fn)
