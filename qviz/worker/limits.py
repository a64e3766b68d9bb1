"""Resource limits of one worker call, and how a worker process applies them to itself.

    >>> Limits().memory_text(), Limits().cpu_seconds, Limits().wall_seconds    # the defaults
    ('3 GB', 60, 60.0)
    >>> Limits(memory_bytes=512 * 2**20, wall_seconds=2).memory_text()         # what the tests use
    '512 MB'
    >>> Limits.from_env({"QVIZ_WORKER_MEMORY_MB": "1024"}).memory_text()       # also _CPU_S, _WALL_S
    '1 GB'

(`Limits.from_env()` reads os.environ: QVIZ_WORKER_MEMORY_MB, QVIZ_WORKER_CPU_S, QVIZ_WORKER_WALL_S.)

In the worker (after the fork, before reading the request):
  RLIMIT_AS     memory_bytes: an allocation past it fails (MemoryError / onnxruntime's
                "Failed to allocate"), it does not take the machine's memory
  RLIMIT_CPU    cpu_seconds soft (SIGXCPU ends the process), +1 s hard (SIGKILL)
  setitimer     wall_seconds: SIGALRM with its default action ends the process even when it
                hangs inside native code; the server also kills it a little later
  RLIMIT_CORE 0, RLIMIT_FSIZE 512 MiB (no core dumps; files only as big as a folded model), PR_SET_PDEATHSIG
  an empty private working directory and the scrubbed environment of `scrubbed_env`

# NOTE: RLIMIT_AS counts virtual memory, and a worker inherits about 430 MB of it from the
# preloaded numpy/onnx/onnxruntime/pandas: limits much below 1 GB leave little room.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import resource
import signal
import tempfile
from dataclasses import asdict, dataclass
from typing import Any

from qviz.model.load.loader import MAX_MODEL_ENV

GB = 2**30
# > the 200 MiB model cap: onnxruntime writes an optimized (folded) graph of the largest upload to a file, in
# every worker (the pre-flight normalizes, qviz.model.load.normalize); the file is in the worker's own folder.
WORKER_FILE_BYTES = 512 * 2**20
PR_SET_PDEATHSIG = 1
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "ORT_NUM_THREADS",
)


@dataclass(frozen=True)
class Limits:
    """Per-call limits of a worker; all positive. max_result_bytes caps what the server reads back."""

    memory_bytes: int = 3 * GB
    cpu_seconds: int = 60
    wall_seconds: float = 60.0
    max_result_bytes: int = 256 * 2**20
    file_bytes: int = WORKER_FILE_BYTES

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive number; got {value!r}")

    @classmethod
    def from_env(cls, environ=None) -> Limits:
        """Defaults, overridden by QVIZ_WORKER_MEMORY_MB, QVIZ_WORKER_CPU_S, QVIZ_WORKER_WALL_S."""
        env = os.environ if environ is None else environ
        kw: dict[str, Any] = {}
        if "QVIZ_WORKER_MEMORY_MB" in env:
            kw["memory_bytes"] = int(env["QVIZ_WORKER_MEMORY_MB"]) * 2**20
        if "QVIZ_WORKER_CPU_S" in env:
            kw["cpu_seconds"] = int(env["QVIZ_WORKER_CPU_S"])
        if "QVIZ_WORKER_WALL_S" in env:
            kw["wall_seconds"] = float(env["QVIZ_WORKER_WALL_S"])
        return cls(**kw)

    def to_dict(self) -> dict:
        return asdict(self)

    def memory_text(self) -> str:
        """'3 GB', '512 MB': the limit as users read it."""
        mb = self.memory_bytes / 2**20
        return f"{mb / 1024:g} GB" if mb >= 1024 else f"{mb:g} MB"


def scrubbed_env(home: str) -> dict[str, str]:
    """The whole environment of a worker: no secrets, HOME/TMPDIR in its own empty dir, 1 thread.

    # NOTE: built from scratch, never by copying os.environ: whatever the server holds
    # (API tokens, STREAMLIT_* secrets, cloud credentials) never reaches a worker's
    # /proc/self/environ.
    """
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
    }
    env.update(dict.fromkeys(THREAD_VARS, "1"))
    cap = os.environ.get(MAX_MODEL_ENV, "")
    if cap.isdigit():  # the model size cap (MiB), so a worker's load_model agrees with the server's
        env[MAX_MODEL_ENV] = cap
    # NOTE: pyarrow's default pool (mimalloc) reserves 1 GB of address space on the first
    # DataFrame, which RLIMIT_AS counts: the system allocator reserves nothing up front.
    env["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    return env


def apply_in_child(limits: dict, workdir: str, *, host: bool = False) -> None:
    """Apply `limits` (a Limits.to_dict()) to the calling process; chdir into a new `workdir`.

    host=True (a long-lived model host, host_worker.py): the CPU and wall-clock limits are
    armed per call by `arm_call` instead."""
    memory = int(limits["memory_bytes"])
    file_bytes = int(limits["file_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    if not host:
        cpu = max(1, int(limits["cpu_seconds"]))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        signal.setitimer(signal.ITIMER_REAL, float(limits["wall_seconds"]))
    _die_with_parent()
    os.mkdir(workdir, 0o700)
    os.chdir(workdir)
    # NOTE: temporary files (onnxruntime's optimized graph, quantize_static's calibration
    # models) go into this directory too: the zygote removes it when it reaps the worker,
    # also after a kill; the shared TMPDIR would keep a killed worker's files.
    os.environ["TMPDIR"] = workdir
    tempfile.tempdir = workdir


def arm_call(limits: dict) -> None:
    """A host's limits for its next call: `cpu_seconds` more CPU than used so far (SIGXCPU),
    `wall_seconds` of wall clock (SIGALRM). Both end the process, as in a one-call worker.
    The hard CPU limit the server runs under (ulimit -t) stays as it is."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    soft = math.ceil(usage.ru_utime + usage.ru_stime) + max(1, int(limits["cpu_seconds"]))
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    signal.setitimer(signal.ITIMER_REAL, float(limits["wall_seconds"]))


def disarm_call() -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the zygote still kills its children on exit
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
