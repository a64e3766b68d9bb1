"""ModelHost: an executor (qviz.model.executor) whose sessions live in one isolated process.

    >>> loaded = load_model(data).isolated(ModelHost())
    >>> Runner(Simulator(loaded, calib), data).outputs(cfg)   # every session runs in the host

Every accepted upload gets one (qviz.ui.models): calibration, evaluation, sweeps, searches,
latency, the kernel report and onnxruntime's quantize_static of an upload then run in a
worker, on whatever values a user feeds, and a model whose cost depends on those values
cannot take the server down.

One host = one process forked from the zygote like pool.py's one-call workers, with the same
Limits, except that the CPU and wall-clock limits apply to each call (host_worker.py). It
keeps the sessions opened through it; `RemoteSession` is the server's handle to one and
keeps the model bytes. When the process dies (a crash, the memory limit, a time limit) the
call that was running raises the ModelError / WorkerError that says why; the next call
starts a new process, which re-opens each session from its bytes when it is next used.

Calls to one host run one at a time (a lock) and each holds a run slot of the pool, so hosts
and one-call workers together never run more than `max_workers` at once. At most MAX_HOSTS
processes live: starting one more stops the least recently used idle one (its sessions
re-open later). A ModelHost that is garbage-collected (its model left the app's caches)
stops its process.

Feeds travel as raw arrays (protocol.py). Read-only arrays that own their memory (the
evaluation batches, the Runner's cached cut tensors) are sent once and kept by the process
until the server's array is garbage-collected: a sweep feeds each of them once per
candidate (measured: 588 MB -> 143 MB sent per sweep of the MobileNet sample).
"""

from __future__ import annotations

import itertools
import os
import threading
import weakref
from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from . import protocol
from .limits import Limits
from .pool import WorkerPool, exchange, exit_status, outcome

MAX_HOSTS = 8
CACHE_MIN_BYTES = 64 * 2**10


class NodeArg(NamedTuple):
    """What qviz reads of onnxruntime's NodeArg."""

    name: str
    shape: list | None
    type: str


class _Process:
    """A running host process (pool.spawn(host=True)); stop() is idempotent."""

    def __init__(self, pool: WorkerPool, limits: Limits):
        self.zygote, self.sock, self.status_fd, self.pid = pool.spawn(limits, host=True)
        self.opened: set[int] = set()   # session ids opened in this process
        self.tensors: set[int] = set()  # tokens of the feeds it keeps
        self.closed = False

    def stop(self) -> None:
        if not self.closed:
            self.closed = True
            self.zygote.kill(self.pid)
            self.sock.close()
            os.close(self.status_fd)


class _Slot:
    """The host's current process, shared with the finalizer (which must not hold the ModelHost)."""

    def __init__(self):
        self.proc: _Process | None = None

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.stop()


_registry: OrderedDict = OrderedDict()  # id(ModelHost) -> weakref, least recently used first
_registry_lock = threading.Lock()


def _make_room(keep: "ModelHost") -> None:
    """Stop least recently used idle hosts until fewer than MAX_HOSTS processes live."""
    with _registry_lock:
        _registry[id(keep)] = weakref.ref(keep)
        _registry.move_to_end(id(keep))
        hosts = [h for h in (ref() for ref in _registry.values()) if h is not None and h is not keep]
    live = [h for h in hosts if h._slot.proc is not None]
    for host in live[:max(0, len(live) + 1 - MAX_HOSTS)]:
        if host._lock.acquire(blocking=False):
            try:
                host._slot.stop()
            finally:
                host._lock.release()


def _forget(key: int) -> None:
    with _registry_lock:
        _registry.pop(key, None)


class ModelHost:
    """Sessions in an isolated worker process (module doc). Same interface as LocalExecutor."""

    isolated = True

    def __init__(self, pool: WorkerPool | None = None, limits: Limits | None = None):
        self._pool, self._limits = pool, limits
        self._lock = threading.Lock()
        self._slot = _Slot()
        self._sids = itertools.count()
        self._released: list[int] = []
        self._tokens: dict[int, int] = {}  # id(immutable array) -> its token in the process
        self._dropped: list[int] = []
        self.processes_started = 0
        weakref.finalize(self, self._slot.stop)
        weakref.finalize(self, _forget, id(self))

    # ---- the executor interface (qviz.model.executor) ----
    def session(self, data: bytes, threads: int = 1) -> "RemoteSession":
        return RemoteSession(self, data, threads)

    def measure(self, data: bytes, feed: dict, *, runs: int, warmup: int, threads: int = 1) -> list[float]:
        with self._lock:
            return self._call("measure", bytes(data), feed, runs, warmup, threads)

    def optimized(self, data: bytes, level: int) -> bytes:
        with self._lock:
            return bytes(self._call("optimized", bytes(data), int(level)))

    def quantize_static(self, data: bytes, feeds: list, overrides: dict) -> bytes:
        with self._lock:
            return bytes(self._call("quantize_static", bytes(data), list(feeds), overrides))

    # ---- sessions ----
    def run(self, session: "RemoteSession", names, feeds: dict) -> list:
        """session.run in the process. Immutable feeds (_immutable: the Runner's cached cut
        tensors, fed again for every candidate of a layer) are sent once and then named by a
        token: a sweep of the MobileNet sample otherwise sends ~600 MB."""
        with self._lock:
            self._ensure_open(session)
            proc = self._slot.proc
            plain, refs, keep = {}, {}, {}
            for name, x in feeds.items():
                token = self._token(x) if _immutable(x) else None
                if token is not None and token in proc.tensors:
                    refs[name] = token
                else:
                    plain[name] = x
                    if token is not None:
                        keep[name] = token
            out = self._call("run", session.sid, None if names is None else list(names), plain, refs, keep)
            proc.tensors.update(keep.values())
            return out

    def open(self, session: "RemoteSession") -> dict:
        with self._lock:
            return self._ensure_open(session)

    def release(self, sid: int) -> None:
        """The server dropped a session: the host drops it with the next call."""
        self._released.append(sid)

    def _token(self, x: np.ndarray) -> int:
        token = self._tokens.get(id(x))
        if token is None:
            token = self._tokens[id(x)] = next(self._sids)
            weakref.finalize(x, self._drop_tensor, id(x), token)
        return token

    def _drop_tensor(self, key: int, token: int) -> None:
        self._tokens.pop(key, None)
        self._dropped.append(token)

    def stop(self) -> None:
        """Stop the process now (the next call starts a new one)."""
        with self._lock:
            self._slot.stop()

    @property
    def pid(self) -> int | None:
        return None if self._slot.proc is None else self._slot.proc.pid

    def _ensure_open(self, session: "RemoteSession"):
        if session.sid not in self._process().opened:
            session.meta = self._call("open", session.sid, session.data, session.threads)
            self._slot.proc.opened.add(session.sid)
        return session.meta

    def _process(self) -> _Process:
        if self._slot.proc is None:
            _make_room(self)
            self._slot.proc = _Process(self.pool, self.limits)
            self.processes_started += 1
        return self._slot.proc

    @property
    def pool(self) -> WorkerPool:
        if self._pool is None:
            from . import default_pool

            self._pool = default_pool()
        return self._pool

    @property
    def limits(self) -> Limits:
        return self._limits or self.pool.limits

    def _call(self, op: str, *args):
        """One request to the process (the caller holds self._lock); its result or the error."""
        with self.pool.slot():
            released, self._released = self._released, []
            dropped, self._dropped = self._dropped, []
            request = protocol.encode({"op": op, "args": list(args), "close": released, "drop": dropped})
            proc = self._process()
            proc.tensors.difference_update(dropped)
            try:
                reply, failure = exchange(proc.sock, request, self.limits)
            except BaseException:  # the caller is going away mid-call: the process state is unknown
                self._slot.stop()
                raise
        if isinstance(reply, dict) and ("ok" in reply or reply.get("error") in ("model", "spec")):
            return outcome(reply, None, None, op, self.limits)
        status = exit_status(proc.zygote, proc.pid, proc.status_fd, killed=True)
        self._slot.stop()
        return outcome(reply, status, failure, op, self.limits)


def _immutable(x) -> bool:
    """An array nobody can change: read-only, owning its memory, and big enough to matter."""
    return isinstance(x, np.ndarray) and x.base is None and not x.flags.writeable and x.nbytes >= CACHE_MIN_BYTES


class RemoteSession:
    """The server's handle to a session in a ModelHost: the part of ort.InferenceSession qviz
    uses (run, get_inputs, get_outputs). Opened at once, so a model onnxruntime cannot load
    fails here, as make_session does."""

    def __init__(self, host: ModelHost, data: bytes, threads: int = 1):
        self.host, self.data, self.threads = host, bytes(data), int(threads)
        self.sid = next(host._sids)
        self.meta: dict = {}
        weakref.finalize(self, host.release, self.sid)
        host.open(self)

    def get_inputs(self) -> list[NodeArg]:
        return [NodeArg(*x) for x in self.meta["inputs"]]

    def get_outputs(self) -> list[NodeArg]:
        return [NodeArg(*x) for x in self.meta["outputs"]]

    def run(self, output_names, input_feed: dict, run_options=None) -> list:
        return self.host.run(self, output_names, input_feed)
