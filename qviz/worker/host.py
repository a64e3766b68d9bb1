"""ModelHost: an executor (qviz.model.runtime.executor) whose sessions live in one isolated process.

    loaded = load_model(data).isolated(ModelHost())
    Runner(Simulator(loaded, calib), data).outputs(cfg)   # every session runs in the host

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

Calls to one host run one at a time (a lock) and each takes a turn in the pool's host queue
(`pool.hosts`: its own slots, so hung pre-flights in `pool.calls` never block an accepted
upload's work). A host process reserves its memory limit from the pool's MemoryBudget for its
whole life; when the budget is short, least recently used idle hosts are stopped to make room
(free_idle_hosts). Starting a process when MAX_HOSTS live stops the least recently used idle
ones too (their sessions re-open later; busy ones are never stopped, so more can live for a moment). A ModelHost that is
garbage-collected (its model left the app's caches) closes its socket, and its process exits.
A process keeps what its sessions and feeds need, and all of it counts against its memory
limit: a call that runs out of memory in a process that already served calls is tried once
more in a fresh one before the user sees the error.

Feeds travel as raw arrays (protocol.py). Read-only arrays that own their memory (the
evaluation batches, the Runner's cached cut tensors, the Simulator's dequantized weights)
are taken to never change (a rule: qviz never makes them writable again); they are sent once
and kept by the process until the server's array is garbage-collected: a sweep feeds each of them once per
candidate (measured: 588 MB -> 143 MB sent per sweep of the MobileNet sample).
"""

from __future__ import annotations

import itertools
import os
import select
import threading
import time
import weakref
from collections import deque
from pathlib import Path
from typing import NamedTuple

import numpy as np

from qviz.worker import protocol
from qviz.worker.errors import WorkerError
from qviz.worker.limits import Limits
from qviz.worker.pool import WorkerPool, exchange, exit_status, outcome

MAX_HOSTS = 8
CACHE_MIN_BYTES = 64 * 2**10


class NodeArg(NamedTuple):
    """What qviz reads of onnxruntime's NodeArg."""

    name: str
    shape: list | None
    type: str


class _Process:
    """A running host process (pool.spawn(host=True))."""

    def __init__(self, pool: WorkerPool, limits: Limits):
        self.reservation = pool.reserve(limits)  # its memory limit, held until the process is closed
        try:
            self.zygote, self.sock, self.status_fd, self.pid = pool.spawn(limits, host=True)
        except BaseException:
            self.reservation.release()
            raise
        self.opened: set[int] = set()  # session ids opened in this process
        self.tensors: set[int] = set()  # tokens of the feeds it keeps
        self.closed = False

    def ended(self) -> bool:
        """The process is gone (its status pipe has something to say): killed while idle, or
        the zygote restarted."""
        return bool(select.select([self.status_fd], [], [], 0)[0])

    def close(self) -> None:
        """Close our ends: the process reads EOF and exits (no lock taken: finalizers call this)."""
        if not self.closed:
            self.closed = True
            self.sock.close()
            os.close(self.status_fd)
            self.reservation.release()

    def stop(self) -> None:
        if not self.closed:
            self.zygote.kill(self.pid)
        self.close()


class _Shared:
    """What finalizers touch, apart from the ModelHost so that they do not keep it alive, and
    only through lock-free operations (a finalizer can run in any thread, at any allocation)."""

    def __init__(self):
        self.proc: _Process | None = None
        self.released: deque = deque()  # session ids the server dropped
        self.dropped: deque = deque()  # tokens of kept feeds whose array died
        self.tokens: dict[int, int] = {}  # id(immutable array) -> its token

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.close()

    def release(self, sid: int) -> None:
        self.released.append(sid)

    def drop(self, key: int, token: int) -> None:
        self.tokens.pop(key, None)
        self.dropped.append(token)


def _drain(queue: deque) -> list:
    out = []
    while queue:
        out.append(queue.popleft())
    return out


_hosts: weakref.WeakSet = weakref.WeakSet()
_spawn_lock = threading.Lock()  # one process start at a time, so the count below holds


def _make_room(keep: ModelHost) -> None:
    """Stop least recently used idle hosts until fewer than MAX_HOSTS processes live."""
    live = sorted((h for h in list(_hosts) if h is not keep and h._shared.proc is not None), key=lambda h: h.last_used)
    for host in live[: max(0, len(live) + 1 - MAX_HOSTS)]:
        if host._lock.acquire(blocking=False):
            try:
                host._stop_process()
            finally:
                host._lock.release()


def free_idle_hosts(missing: int, pool: WorkerPool) -> bool:
    """Stop least recently used idle hosts of `pool` until about `missing` bytes of its memory
    budget are given back; True if any was stopped (the pool's `make_room`)."""
    freed = 0
    mine = (h for h in list(_hosts) if h._pool is pool and h._shared.proc is not None)
    for host in sorted(mine, key=lambda h: h.last_used):
        if freed >= missing:
            break
        if host._lock.acquire(blocking=False):
            try:
                proc = host._shared.proc
                if proc is not None:
                    freed += proc.reservation.nbytes
                    host._stop_process()
            finally:
                host._lock.release()
    return freed > 0


class ModelHost:
    """Sessions in an isolated worker process (module doc). Same interface as LocalExecutor."""

    def __init__(self, pool: WorkerPool | None = None, limits: Limits | None = None):
        self._pool, self._limits = pool, limits
        self._lock = threading.Lock()
        self._shared = _Shared()
        self._ids = itertools.count()  # session ids and feed tokens: never reused
        self.last_used = time.monotonic()
        self.processes_started = 0
        weakref.finalize(self, self._shared.close)
        _hosts.add(self)

    # ---- the executor interface (qviz.model.runtime.executor) ----
    def session(self, data: bytes, threads: int = 1) -> RemoteSession:
        return RemoteSession(self, data, threads)

    def measure(self, data: bytes, feed: dict, *, runs: int, warmup: int, threads: int = 1) -> list[float]:
        return self._locked(lambda: self._call("measure", bytes(data), feed, runs, warmup, threads))

    def optimized(self, data: bytes, level: int) -> bytes:
        return bytes(self._locked(lambda: self._call("optimized", bytes(data), int(level))))

    def quantize_static(self, data: bytes, feeds: list, overrides: dict) -> bytes:
        return bytes(self._locked(lambda: self._call("quantize_static", bytes(data), list(feeds), overrides)))

    # ---- sessions ----
    def open(self, session: RemoteSession) -> dict:
        return self._locked(lambda: self._ensure_open(session))

    def run(self, session: RemoteSession, names, feeds: dict) -> list:
        """session.run in the process (module doc: immutable feeds are sent once)."""
        return self._locked(lambda: self._run(session, None if names is None else list(names), feeds))

    def _run(self, session: RemoteSession, names, feeds: dict) -> list:
        self._ensure_open(session)
        proc = self._shared.proc
        assert proc is not None  # _ensure_open left a live process (or raised)
        plain, refs, keep = {}, {}, {}
        for name, x in feeds.items():
            token = self._token(x) if _immutable(x) else None
            if token is not None and token in proc.tensors:
                refs[name] = token
            else:
                plain[name] = x
                if token is not None:
                    keep[name] = token
        out = self._call("run", session.sid, names, plain, refs, keep)
        proc.tensors.update(keep.values())
        return out

    def _ensure_open(self, session: RemoteSession) -> dict:
        proc = self._shared.proc
        if proc is None or proc.ended() or session.sid not in proc.opened:
            session.meta = self._call("open", session.sid, session.data, session.threads)
            proc = self._shared.proc
            assert proc is not None  # a call that returns leaves its process running
            proc.opened.add(session.sid)
        return session.meta

    def _token(self, x: np.ndarray) -> int:
        token = self._shared.tokens.get(id(x))
        if token is None:
            token = self._shared.tokens[id(x)] = next(self._ids)
            weakref.finalize(x, self._shared.drop, id(x), token)
        return token

    def new_sid(self) -> int:
        return next(self._ids)

    def release_later(self, session: RemoteSession) -> None:
        """When `session` is garbage-collected, the process drops it with the next call."""
        weakref.finalize(session, self._shared.release, session.sid)

    # ---- the process ----
    def stop(self) -> None:
        """Stop the process now (the next call starts a new one)."""
        with self._lock:
            self._stop_process()

    @property
    def pid(self) -> int | None:
        return None if self._shared.proc is None else self._shared.proc.pid

    def _stop_process(self) -> None:
        proc, self._shared.proc = self._shared.proc, None
        if proc is not None:
            proc.stop()

    def _process(self) -> _Process:
        """The live process, started (or restarted, if it ended while idle) when needed."""
        proc = self._shared.proc
        if proc is not None and proc.ended():
            self._stop_process()
        if self._shared.proc is None:
            with _spawn_lock:
                _make_room(self)
                self._shared.proc = _Process(self.pool, self.limits)
            self.processes_started += 1
        return self._shared.proc

    @property
    def pool(self) -> WorkerPool:
        if self._pool is None:
            from qviz.worker import default_pool

            self._pool = default_pool()
        pool = self._pool
        pool.make_room = lambda missing: free_idle_hosts(missing, pool)
        return self._pool

    @property
    def limits(self) -> Limits:
        return self._limits or self.pool.limits

    def _locked(self, work):
        """work() under the host's lock; once more in a fresh process when a process that had
        served calls before ran out of memory (module doc)."""
        with self._lock:
            fresh = self._shared.proc is None
            try:
                return work()
            except WorkerError as e:
                if e.kind != "memory" or fresh:
                    raise
                return work()  # _call stopped the failed process: this starts a new one

    def _call(self, op: str, *args):
        """One request to the process (the caller holds self._lock); its result or the error."""
        self.last_used = time.monotonic()
        with self.pool.slot():
            proc = self._process()
            proc.reservation.resize(
                self.limits.memory_bytes, timeout=self.pool.queue_timeout, make_room=self.pool.make_room
            )
            released, dropped = _drain(self._shared.released), _drain(self._shared.dropped)
            proc.tensors.difference_update(dropped)
            try:
                request = protocol.encode({"op": op, "args": list(args), "close": released, "drop": dropped})
            except protocol.ProtocolError as e:  # a qviz bug: something that is not plain data
                self._shared.released.extend(released)
                self._shared.dropped.extend(dropped)
                raise WorkerError(f"qviz could not send this to the worker ({e})", "internal") from None
            try:
                reply, failure = exchange(proc.sock, request, self.limits)
            except BaseException:  # the caller is going away mid-call: the process state is unknown
                self._stop_process()
                raise
        if isinstance(reply, dict) and ("ok" in reply or reply.get("error") in ("model", "spec")):
            # idle until its next call: it holds only what it uses (memory_budget.py)
            proc.reservation.resize(idle_bytes(proc.pid, self.limits), timeout=0)
            return outcome(reply, None, None, op, self.limits)
        status = exit_status(proc.zygote, proc.pid, proc.status_fd, killed=True)
        self._stop_process()
        return outcome(reply, status, failure, op, self.limits)


IDLE_MARGIN = 64 * 2**20


def idle_bytes(pid: int, limits: Limits) -> int:
    """What an idle host process holds of the memory budget: its resident size (VmRSS) plus a
    margin, at most its limit (the limit when /proc cannot say)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return min(limits.memory_bytes, int(line.split()[1]) * 1024 + IDLE_MARGIN)
    except (OSError, ValueError):
        pass
    return limits.memory_bytes


def _immutable(x) -> bool:
    """An array taken to never change (module doc): read-only, owning its memory, big enough to matter."""
    return isinstance(x, np.ndarray) and x.base is None and not x.flags.writeable and x.nbytes >= CACHE_MIN_BYTES


class RemoteSession:
    """The server's handle to a session in a ModelHost: the part of ort.InferenceSession qviz
    uses (run, get_inputs, get_outputs; run_options are not supported). Opened at once, so a
    model onnxruntime cannot load fails here, as make_session does."""

    def __init__(self, host: ModelHost, data: bytes, threads: int = 1):
        self.host, self.data, self.threads = host, bytes(data), int(threads)
        self.sid = host.new_sid()
        self.meta: dict = {}
        host.release_later(self)
        host.open(self)

    def get_inputs(self) -> list[NodeArg]:
        return [NodeArg(*x) for x in self.meta["inputs"]]

    def get_outputs(self) -> list[NodeArg]:
        return [NodeArg(*x) for x in self.meta["outputs"]]

    def run(self, output_names, input_feed: dict, run_options=None) -> list:
        return self.host.run(self, output_names, input_feed)
