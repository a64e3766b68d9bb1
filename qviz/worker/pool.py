"""WorkerPool: run a whitelisted task in a fresh, limited worker process; at most N at once.

    pool = WorkerPool(Limits(wall_seconds=20), max_workers=2)
    pool.call("describe_upload", data)         # dict, or ModelError / SpecError / WorkerError
    pool.close()                               # zygote and any worker gone

One call = one process forked from the zygote (zygote.py), used once, then reaped: no state
survives from one upload to the next, and a crash only ends that call. The zygote is started
on first use (or by `start()`) and restarted if it dies.

Two budgets, so that a hung pre-flight never blocks an accepted upload's work (issue 12):
  - one-call workers (pre-flights, data reads) take turns in `calls`, a FairQueue of
    `max_workers` slots (default: the number of cores): first come first served, one turn per
    owner (a session), positions for the page, cancellation (fair_queue.py);
  - model hosts' calls (host.py) take turns in `hosts`, another FairQueue of `host_workers`
    slots (default: also the number of cores).
Up to `max_queue` more turns wait at most `queue_timeout` seconds in each; beyond: "busy".
Both draw from one MemoryBudget (`memory`, memory_budget.py): the sum of the memory limits of
the workers alive stays under QVIZ_WORKERS_MEMORY_MB (default half the machine's memory).
A hung call is killed at its wall limit (its own timer; the server kills it GRACE s later at
most) and its slot and memory are given back once its process has ended.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from qviz.model import ModelError
from qviz.quant.spec import SpecError
from qviz.worker import protocol
from qviz.worker.errors import WorkerError, decode_status, exit_error, memory_error, wall_error
from qviz.worker.fair_queue import FairQueue
from qviz.worker.limits import Limits, scrubbed_env
from qviz.worker.memory_budget import MemoryBudget, total_from_env
from qviz.worker.zygote import BOOT

log = logging.getLogger("qviz.worker")
QVIZ_ROOT = str(Path(__file__).resolve().parents[2])
START_TIMEOUT = 60.0  # a cold zygote imports onnxruntime: ~1 s, much more on a loaded machine
GRACE = 2.0  # the worker's own timer fires first; the server kills it this much later


class _Zygote:
    """The zygote process and its control socket (see zygote.py)."""

    def __init__(self, base_dir: str | None, task_modules: tuple, extra_path: tuple, stderr):
        self.dir = tempfile.mkdtemp(prefix="qviz-worker-", dir=base_dir)
        self.ctrl, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        config = {"path": [QVIZ_ROOT, *map(str, extra_path)], "task_modules": list(task_modules)}
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-c", BOOT, str(child.fileno()), json.dumps(config)],
            env=scrubbed_env(self.dir),
            cwd=self.dir,
            pass_fds=[child.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
        child.close()
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def fork(self, limits: Limits, host: bool = False) -> tuple[socket.socket, int]:
        """Ask for one worker (or a model host): (data socket, status pipe read end)."""
        ours, theirs = socket.socketpair()
        status_r, status_w = os.pipe()
        message = (b"H" if host else b"F") + json.dumps(limits.to_dict()).encode()
        try:
            with self.lock:
                socket.send_fds(self.ctrl, [message], [theirs.fileno(), status_w])
        except OSError:
            ours.close()
            os.close(status_r)
            raise
        finally:
            theirs.close()
            os.close(status_w)
        return ours, status_r

    def kill(self, pid: int) -> None:
        with contextlib.suppress(OSError), self.lock:
            self.ctrl.send(b"K%d" % pid)

    def close(self) -> None:
        self.ctrl.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def _read_exact(fd: int, n: int, deadline: float) -> bytes | None:
    """n bytes from a pipe by `deadline`; None on EOF or timeout."""
    out = b""
    while len(out) < n:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, n - len(out))
        if not chunk:
            return None
        out += chunk
    return out


class WorkerPool:
    """Bounded, isolated execution of qviz.worker.tasks (see module doc)."""

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        max_workers: int | None = None,
        max_queue: int | None = None,
        queue_timeout: float = 30.0,
        host_workers: int | None = None,
        memory: MemoryBudget | None = None,
        base_dir: str | None = None,
        task_modules=(),
        extra_path=(),
        stderr=subprocess.DEVNULL,
    ):
        self.limits = limits or Limits.from_env()
        self.max_workers = max_workers or os.cpu_count() or 1
        self.max_queue = 4 * self.max_workers if max_queue is None else max_queue
        self.queue_timeout = queue_timeout
        self._zygote_args = (base_dir, tuple(task_modules), tuple(extra_path), stderr)
        self.calls = FairQueue(self.max_workers, max_waiting=self.max_queue, timeout=queue_timeout, name="pre-flights")
        hosts = host_workers or os.cpu_count() or 1
        self.hosts = FairQueue(hosts, max_waiting=4 * hosts, timeout=queue_timeout, name="model jobs")
        self.memory = memory or MemoryBudget(max(total_from_env(), self.limits.memory_bytes))
        self.make_room: Callable[[int], bool] | None = None  # host.py: stop idle hosts to free memory
        self._lock = threading.Lock()
        self._zygote: _Zygote | None = None

    @property
    def _waiting(self) -> int:
        return self.calls.waiting

    # ---- lifecycle ----
    def start(self) -> WorkerPool:
        """Start the zygote now (the first call otherwise pays its ~1 s start)."""
        self._ensure_zygote()
        return self

    def close(self) -> None:
        """Stop the zygote; it kills any worker still running."""
        with self._lock:
            zygote, self._zygote = self._zygote, None
        if zygote is not None:
            zygote.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    @property
    def zygote_pid(self) -> int | None:
        return self._zygote.proc.pid if self._zygote and self._zygote.alive() else None

    def live_workers(self) -> list[int]:
        """Pids of running workers (children of the zygote, read from /proc)."""
        zpid = self.zygote_pid
        return [] if zpid is None else children_of(zpid)

    def _ensure_zygote(self) -> _Zygote:
        with self._lock:
            if self._zygote is None or not self._zygote.alive():
                if self._zygote is not None:
                    log.warning("worker zygote exited with %s; restarting it", self._zygote.proc.returncode)
                    self._zygote.close()
                self._zygote = _Zygote(*self._zygote_args)
            return self._zygote

    def _discard(self, zygote: _Zygote) -> None:
        with self._lock:
            if self._zygote is zygote:
                self._zygote = None
        log.warning("worker zygote stopped answering; restarting it")
        with contextlib.suppress(OSError):
            zygote.proc.kill()
        zygote.close()

    # ---- calls ----
    def call(self, task: str, *args, limits: Limits | None = None):
        """Run `task(*args)` in a fresh worker; its result, or ModelError/SpecError/WorkerError.
        Takes a turn in `calls` (or uses the caller's: `turn`) and reserves its memory."""
        limits = limits or self.limits
        request = protocol.encode({"task": task, "args": list(args)})  # ProtocolError here: not plain data
        with self.calls.turn(), self.reserve(limits):
            return self._call_once(request, task, limits)

    def turn(self, owner=None, on_position=None, cancelled=None):
        """A turn in the one-call queue for a block of calls (a pre-flight): fair_queue.FairQueue.turn."""
        return self.calls.turn(owner, on_position, cancelled)

    def slot(self):
        """A turn in the model hosts' queue (host.py: one per host call)."""
        return self.hosts.turn()

    def reserve(self, limits: Limits):
        """`limits.memory_bytes` of the memory budget, for one worker's life (memory_budget.py)."""
        return self.memory.reserve(limits.memory_bytes, timeout=self.queue_timeout, make_room=self.make_room)

    def spawn(self, limits: Limits, *, host: bool = False) -> tuple[_Zygote, socket.socket, int, int]:
        """A new worker (host=True: a model host, host.py): (zygote, data socket, status fd, pid).
        The caller closes the socket and the status fd."""
        zygote = self._ensure_zygote()
        try:
            sock, status_fd = zygote.fork(limits, host)
        except OSError:  # the zygote died (it may not be reaped yet, so alive() can lie): one restart
            self._discard(zygote)
            zygote = self._ensure_zygote()
            sock, status_fd = zygote.fork(limits, host)
        raw_pid = _read_exact(status_fd, 8, time.monotonic() + START_TIMEOUT)
        if raw_pid is None:
            sock.close()
            os.close(status_fd)
            raise WorkerError("the worker could not be started", "crash")
        return zygote, sock, status_fd, int.from_bytes(raw_pid, "big")

    def _call_once(self, request: list, task: str, limits: Limits):
        zygote, sock, status_fd, pid = self.spawn(limits)
        try:
            return self._exchange(zygote, sock, status_fd, pid, request, task, limits)
        finally:
            sock.close()
            os.close(status_fd)

    def _exchange(self, zygote: _Zygote, sock, status_fd: int, pid: int, request: list, task: str, limits: Limits):
        try:
            reply, failure = exchange(sock, request, limits)
        except BaseException:  # the caller is going away (a rerun, Ctrl-C): its worker goes too
            zygote.kill(pid)
            exit_status(zygote, pid, status_fd, killed=True)  # ended before its slot and memory are given back
            raise
        status = exit_status(zygote, pid, status_fd, killed=failure is not None or reply is None)
        return outcome(reply, status, failure, task, limits)


def exchange(sock: socket.socket, request: list, limits: Limits):
    """Send an encoded request, read the reply: (reply, None), or (None, the failure to
    report) when the wall-clock limit (+ GRACE) passes or the connection breaks."""
    deadline = time.monotonic() + limits.wall_seconds + GRACE
    try:
        protocol.send_parts(sock, request, deadline)
        return protocol.recv_frame(sock, limits.max_result_bytes, deadline), None
    except TimeoutError:
        return None, wall_error(limits)
    except (OSError, protocol.ProtocolError) as e:
        return None, e


def exit_status(zygote: _Zygote, pid: int, status_fd: int, killed: bool) -> int | None:
    """The worker's exit status (see errors.decode_status), killing it if it does not end."""
    raw = _read_exact(status_fd, 4, time.monotonic() + (0.5 if killed else 5.0))
    if raw is None:
        zygote.kill(pid)
        raw = _read_exact(status_fd, 4, time.monotonic() + 5.0)
    return None if raw is None else decode_status(int.from_bytes(raw, "big", signed=True))


def outcome(reply, status: int | None, failure, task: str, limits: Limits):
    """The call's result, or the right exception for how the worker ended."""
    if isinstance(failure, WorkerError):
        raise failure
    if isinstance(failure, protocol.ProtocolError):
        log.warning("worker reply for %s rejected: %s", task, printable(failure))
        raise WorkerError(f"the worker's answer was not accepted ({failure})", "internal")
    if not isinstance(reply, dict):
        raise exit_error(status, limits)
    if "ok" in reply:
        return reply["ok"]
    kind = reply.get("error")
    if kind == "model":
        raise ModelError(str(reply.get("message")))
    if kind == "spec":
        raise SpecError(str(reply.get("message")))
    if kind == "memory":
        raise memory_error(limits)
    log.warning("worker task %s failed: %s\n%s", task, printable(reply.get("type")), printable(reply.get("detail")))
    raise WorkerError(
        f"the worker failed while running {task} ({reply.get('type', 'unknown error')}); "
        "the details are in the server log",
        "internal",
    )


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F] if c != 0x0A}


def printable(text) -> str:
    """`text` with control characters (ANSI escapes from model names...) shown as \\xNN: the
    server log is read in terminals."""
    return str(text).translate(_CONTROL)


def children_of(pid: int) -> list[int]:
    """Pids whose parent is `pid` (from /proc/*/stat; no psutil)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out
