"""The worker side of a model host (host.py): a long-lived process that keeps sessions.

Forked by the zygote on a b"H" request. It applies the worker limits (limits.py; CPU and
wall clock armed per call), then answers requests until the server closes the socket:

    {"op": "open", "args": [sid, model bytes, threads], "close": [sid, ...]}
        -> {"inputs": [[name, shape, type], ...], "outputs": [...]}
    {"op": "run", "args": [sid, output names or None, feeds, refs, keep]} -> [array, ...]
    {"op": "measure", "args": [model bytes, feed, runs, warmup, threads]} -> [ms, ...]
    {"op": "optimized", "args": [model bytes, level]}               -> ONNX bytes
    {"op": "quantize_static", "args": [model bytes, feeds, overrides]} -> ONNX bytes

"close" drops sessions the server no longer holds, "drop" kept tensors. A run's `keep`
({input name: token}) keeps those feeds; later runs name them in `refs` instead of sending
them again (host.py: immutable arrays only). Replies are those of a one-call worker
(zygote.run_request). After a "memory" or "internal" error the process exits: its state
is not trusted any more, and the server starts a new one on the next call.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

import numpy as np

from qviz.model.runtime.executor import LOCAL
from qviz.model.runtime.session import run_session
from qviz.worker import limits as limits_mod
from qviz.worker import protocol
from qviz.worker.child import REQUEST_MAX_BYTES, run_request, workdir

FATAL = ("memory", "internal")


def _args(values) -> list:
    return [[v.name, list(v.shape) if v.shape is not None else None, v.type] for v in values]


def _open(state: dict, sid: int, data, threads: int) -> dict:
    sess = LOCAL.session(bytes(data), int(threads))
    state["sessions"][sid] = sess
    return {"inputs": _args(sess.get_inputs()), "outputs": _args(sess.get_outputs())}


def _run(state: dict, sid: int, names, feeds: dict, refs: dict, keep: dict) -> list:
    tensors = state["tensors"]
    for name, token in keep.items():
        tensors[token] = np.array(feeds[name])  # a copy: feeds are views into this request's buffer
    feeds = {**feeds, **{name: tensors[token] for name, token in refs.items()}}
    return run_session(state["sessions"][sid], names, feeds)


def _measure(state: dict, data, feed: dict, runs: int, warmup: int, threads: int) -> list:
    return LOCAL.measure(bytes(data), feed, runs=int(runs), warmup=int(warmup), threads=int(threads))


def _optimized(state: dict, data, level: int) -> bytes:
    return LOCAL.optimized(bytes(data), int(level))


def _quantize_static(state: dict, data, feeds: list, overrides: dict) -> bytes:
    return LOCAL.quantize_static(bytes(data), feeds, overrides)


OPS: dict[str, Callable[..., Any]] = {
    "open": _open,
    "run": _run,
    "measure": _measure,
    "optimized": _optimized,
    "quantize_static": _quantize_static,
}


def host_main(data_fd: int, limits: dict) -> None:
    """Serve requests until EOF or a fatal error, then exit (module doc)."""
    limits_mod.apply_in_child(limits, workdir(os.getpid()), host=True)
    sock = socket.socket(fileno=data_fd)
    state: dict = {"sessions": {}, "tensors": {}}
    while (request := protocol.recv_frame(sock, REQUEST_MAX_BYTES, copy=False)) is not None:
        for sid in request.get("close", ()):
            state["sessions"].pop(sid, None)
        for token in request.get("drop", ()):
            state["tensors"].pop(token, None)
        limits_mod.arm_call(limits)
        reply = run_request(request, lambda r: OPS[r["op"]](state, *r["args"]))
        limits_mod.disarm_call()
        try:
            protocol.send_frame(sock, reply)
        except protocol.ProtocolError as e:  # e.g. a sequence output: not plain data
            reply = {"error": "internal", "type": "ProtocolError", "detail": str(e)}
            protocol.send_frame(sock, reply)
        if reply.get("error") in FATAL:
            break
    sock.close()
    os._exit(0)
