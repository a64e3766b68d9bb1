"""The zygote: a clean Python that preloads qviz once and forks one fresh worker per call.

Started by the pool (pool.py) as `python -I -c BOOT <ctrl fd> <config JSON>` with the
scrubbed environment of `limits.scrubbed_env`, in an empty directory, in its own session.
It imports qviz.worker.tasks (numpy, onnx, onnxruntime, pandas: ~0.7 s) once; a fork then
costs about 10 ms instead of a fresh interpreter's ~1 s per call.

Control messages (a SOCK_SEQPACKET socket from the server):
    b"F" + limits JSON, with fds [data socket, status pipe]   fork a worker for one call
    b"H" + limits JSON, with fds [data socket, status pipe]   fork a model host (host_worker.py)
    b"K" + pid                                                 SIGKILL that worker, if still ours
    EOF                                                        the server is gone: kill all, exit
The status pipe receives the worker's pid (8 bytes) right after the fork and its waitpid
status (4 bytes) when it ends; the zygote reaps every worker (no zombies, no orphans).

# NOTE: onnxruntime and pandas' allocator each start an idle native thread at import; forking
# the idle zygote is what multiprocessing's forkserver does too. A worker that deadlocked
# anyway would still end at its wall-clock limit.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import shutil
import signal
import socket
import sys

from qviz.worker import limits as limits_mod
from qviz.worker import protocol
from qviz.worker.child import REQUEST_MAX_BYTES, run_request, workdir

BOOT = (
    "import sys, json; c = json.loads(sys.argv[2]); sys.path[:0] = c['path']; "
    "from qviz.worker.zygote import main; main(int(sys.argv[1]), c)"
)


def main(ctrl_fd: int, config: dict) -> None:
    """Preload, then serve fork/kill requests until the server closes the control socket."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for module in ["qviz.worker.tasks", "qviz.worker.host_worker", *config.get("task_modules", [])]:
        importlib.import_module(module)
    importlib.import_module("qviz.worker.tasks").warm_up()
    ctrl = socket.socket(fileno=ctrl_fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    zygote = _Zygote(ctrl, (wake_r, wake_w))
    zygote.serve()
    zygote.kill_all()


class _Zygote:
    def __init__(self, ctrl: socket.socket, wake: tuple[int, int]):
        self.ctrl, self.wake = ctrl, wake
        self.children: dict[int, int] = {}  # pid -> status pipe fd

    def serve(self) -> None:
        while True:
            watched: list[socket.socket | int] = [self.ctrl, self.wake[0]]
            ready, _, _ = select.select(watched, [], [])
            if self.wake[0] in ready:
                _drain(self.wake[0])
                self.reap()
            if self.ctrl in ready and not self.handle(*socket.recv_fds(self.ctrl, 65536, 2)[:2]):
                return

    def handle(self, msg: bytes, fds: list[int]) -> bool:
        """One control message; False when the server has gone."""
        if not msg:
            return False
        if msg[:1] in (b"F", b"H") and len(fds) == 2:
            data_fd, status_fd = fds
            self.fork(json.loads(msg[1:]), data_fd, status_fd, host=msg[:1] == b"H")
            return True
        for fd in fds:
            os.close(fd)
        if msg[:1] == b"K":
            pid = int(msg[1:])
            if pid in self.children:
                os.kill(pid, signal.SIGKILL)
        return True

    def fork(self, limits: dict, data_fd: int, status_fd: int, host: bool = False) -> None:
        pid = os.fork()
        if pid == 0:
            try:
                os.close(status_fd)
                self.become_worker()
                main = worker_main
                if host:
                    from qviz.worker.host_worker import host_main as main  # preloaded by main()
                main(data_fd, limits)
            finally:
                os._exit(70)
        os.close(data_fd)
        self.children[pid] = status_fd
        _write(status_fd, pid.to_bytes(8, "big"))

    def become_worker(self) -> None:
        """In the forked child: drop everything that belongs to the zygote."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self.ctrl.close()
        for fd in [*self.wake, *self.children.values()]:
            os.close(fd)

    def reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            fd = self.children.pop(pid, None)
            if fd is not None:
                _write(fd, status.to_bytes(4, "big", signed=True))
                os.close(fd)
            shutil.rmtree(workdir(pid), ignore_errors=True)

    def kill_all(self) -> None:
        for pid in list(self.children):
            os.kill(pid, signal.SIGKILL)
        for pid in list(self.children):
            os.waitpid(pid, 0)
            shutil.rmtree(workdir(pid), ignore_errors=True)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _write(fd: int, data: bytes) -> None:
    with contextlib.suppress(OSError):  # the server stopped listening (it gave up on this call)
        os.write(fd, data)


# ---- one worker: one call ----------------------------------------------------------------


def worker_main(data_fd: int, limits: dict) -> None:
    """Apply limits, read one request, run it, send one reply, exit."""
    limits_mod.apply_in_child(limits, workdir(os.getpid()))
    sock = socket.socket(fileno=data_fd)
    request = protocol.recv_frame(sock, REQUEST_MAX_BYTES, copy=False)
    reply = run_request(request)
    try:
        protocol.send_frame(sock, reply)
    except protocol.ProtocolError as e:  # a result that cannot be sent is a qviz bug
        protocol.send_frame(sock, {"error": "internal", "type": "ProtocolError", "detail": str(e)})
    sock.close()
    sys.stdout.flush()
    os._exit(0)
