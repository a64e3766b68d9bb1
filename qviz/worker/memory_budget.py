"""MemoryBudget: the total memory all workers may hold, not only each one's limit.

    >>> budget = MemoryBudget(4 * 2**30)
    >>> a = budget.reserve(3 * 2**30, timeout=0)
    >>> budget.reserve(3 * 2**30, timeout=0)
    Traceback (most recent call last):
    ...
    qviz.worker.errors.WorkerError: the server's workers use 3 GB of their 4 GB memory budget; this job needs 3 GB more; try again in a minute
    >>> a.release(); budget.reserved
    0

A worker's limit is its address space (RLIMIT_AS, limits.py), so the sum of the limits of the
workers alive bounds what they can take together: a worker reserves its `memory_bytes` before it
starts and gives it back when it ends. One-call workers reserve for their call. A model host
(host.py) holds a reservation for its process's life: its full limit during a call, and only
its resident size between calls (an idle process allocates nothing; `Reservation.resize`), so
idle hosts do not lock the budget up; one can also be stopped to make room (`make_room`).

The total: QVIZ_WORKERS_MEMORY_MB, else DEFAULT_FRACTION of the machine's memory (MemTotal in
/proc/meminfo); never below one worker's limit (a budget no worker fits in would refuse all).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from qviz.worker.errors import WorkerError

TOTAL_ENV = "QVIZ_WORKERS_MEMORY_MB"
DEFAULT_FRACTION = 0.5


def machine_memory_bytes() -> int:
    """MemTotal of /proc/meminfo (8 GiB when it cannot be read)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 2**30


def total_from_env(environ=None) -> int:
    """The budget in bytes: QVIZ_WORKERS_MEMORY_MB, else DEFAULT_FRACTION of the machine's memory."""
    env = os.environ if environ is None else environ
    text = env.get(TOTAL_ENV)
    if text is None:
        return int(machine_memory_bytes() * DEFAULT_FRACTION)
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(f"{TOTAL_ENV} must be a whole number of MiB (1 or more); got {text[:40]!r}")
    return int(text) * 2**20


def _gb(n: int) -> str:
    return f"{n / 2**30:g} GB" if n >= 2**30 else f"{n / 2**20:g} MB"


class Reservation:
    """Bytes held from a MemoryBudget until `release()` (idempotent)."""

    def __init__(self, budget: MemoryBudget, nbytes: int):
        self.budget, self.nbytes = budget, nbytes
        self._released = False

    def release(self) -> None:
        with self.budget._cond:
            if not self._released:
                self._released = True
                self.budget.reserved -= self.nbytes
                self.budget._cond.notify_all()

    def resize(self, nbytes: int, *, timeout: float, make_room: Callable[[int], bool] | None = None) -> None:
        """Hold `nbytes` instead (capped at the total): less at once, more once it fits (as reserve)."""
        nbytes = min(int(nbytes), self.budget.total)
        with self.budget._cond:
            if self._released:
                raise ValueError("resize of a released reservation")
            if nbytes <= self.nbytes:
                self.budget.reserved -= self.nbytes - nbytes
                self.nbytes = nbytes
                self.budget._cond.notify_all()
                return
        more = self.budget.reserve(nbytes - self.nbytes, timeout=timeout, make_room=make_room)
        with self.budget._cond:
            self.nbytes += more.nbytes
            more._released = True  # merged into this one

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class MemoryBudget:
    """A shared byte budget (module doc); thread-safe."""

    def __init__(self, total_bytes: int):
        self.total = int(total_bytes)
        self.reserved = 0
        # NOTE: re-entrant: a host's finalizer releases its reservation in whatever thread, maybe
        # one that is inside reserve() at that moment.
        self._cond = threading.Condition(threading.RLock())

    def reserve(self, nbytes: int, *, timeout: float, make_room: Callable[[int], bool] | None = None) -> Reservation:
        """Hold `nbytes` (capped at the total: one worker always fits alone), waiting up to
        `timeout` s; `make_room(missing)` may free some (stop idle hosts; True if it did).
        A "busy" WorkerError when it does not fit in time."""
        nbytes = min(int(nbytes), self.total)
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.reserved + nbytes > self.total:
                missing = self.reserved + nbytes - self.total
                if make_room is not None:
                    self._cond.release()
                    try:
                        freed = make_room(missing)
                    finally:
                        self._cond.acquire()
                    if freed:
                        continue
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WorkerError(
                        f"the server's workers use {_gb(self.reserved)} of their {_gb(self.total)} memory budget; "
                        f"this job needs {_gb(nbytes)} more; try again in a minute",
                        "busy",
                    )
                self._cond.wait(min(left, 0.25))
            self.reserved += nbytes
        return Reservation(self, nbytes)
