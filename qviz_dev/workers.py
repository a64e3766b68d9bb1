"""Worker pools for tests: short limits, the test-only tasks, and waiting on worker processes.

with make_pool() as pool:                  # also knows qviz_dev.fault_tasks (hang, segfault, ...)
    pool.call("hang")                      # WorkerError after TEST_LIMITS' 2 s
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from qviz.worker import Limits, WorkerPool
from qviz_dev import REPO
from qviz_dev.wait import wait_until

# NOTE: a worker inherits ~400 MB of address space from the preloaded modules, so 1 GiB
# (not 512 MB) is the smallest limit that still leaves onnxruntime room to work.
TEST_LIMITS = Limits(memory_bytes=2**30, cpu_seconds=5, wall_seconds=2.0)


def make_pool(**kw) -> WorkerPool:
    """A WorkerPool (2 workers, TEST_LIMITS unless `limits=`) that also runs qviz_dev.fault_tasks."""
    kw.setdefault("max_workers", 2)
    return WorkerPool(kw.pop("limits", TEST_LIMITS), task_modules=["qviz_dev.fault_tasks"], extra_path=[REPO], **kw)


def rss_bytes() -> int:
    """This process's resident set size, from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def wait_for_workers(pool: WorkerPool, n: int = 1, timeout: float = 20.0) -> list[int]:
    """The pool's live workers, once there are `n` of them (a cold zygote takes ~1 s to start);
    after `timeout`, whatever there is (the caller's assertion shows it)."""
    with contextlib.suppress(TimeoutError):
        wait_until(lambda: len(pool.live_workers()) >= n, timeout)
    return pool.live_workers()


def wait_for_exactly(pool: WorkerPool, n: int, timeout: float = 5.0) -> list[int]:
    """The pool's live workers, once there are exactly `n` (a stopped one is a zombie until reaped)."""
    with contextlib.suppress(TimeoutError):
        wait_until(lambda: len(pool.live_workers()) == n, timeout)
    return pool.live_workers()


def wait_for_no_workers(pool: WorkerPool, timeout: float = 5.0) -> list[int]:
    return wait_for_exactly(pool, 0, timeout)


def process_gone(pid: int, timeout: float = 5.0) -> bool:
    """Whether process `pid` has ended (gone, or a zombie) within `timeout` seconds."""

    def gone() -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        return state == "Z"

    try:
        return wait_until(gone, timeout)
    except TimeoutError:
        return False
