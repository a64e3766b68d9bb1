"""FairQueue: N run slots handed out first come, first served, with positions, owners and cancellation.

    queue = FairQueue(slots=2, max_waiting=8, timeout=30)
    with queue.turn(owner="session-a", on_position=lambda n: print(n, "ahead")):
        ...                                # holds one slot; others wait in order

Rules (each one closes a way two hostile uploads blocked a class, issue 12):
- FIFO: a slot that frees goes to the oldest waiter, so a burst from one session cannot jump the queue;
- one turn per owner: a new turn of an owner that is still WAITING supersedes the old one (it ends
  with a "cancelled" WorkerError: the user uploaded something else); an owner whose turn is RUNNING
  is refused ("one at a time") instead of taking a second slot;
- `on_position(k)` is called whenever the turn's place in the line changes (k = 1: next to run;
  k = 0 once it holds a slot; never called for a turn that gets a slot at once);
- `cancelled()` is polled while waiting: True ends the wait ("cancelled"), e.g. the session left;
- more than `max_waiting` waiters, or waiting longer than `timeout`: a "busy" WorkerError;
- re-entrant per thread: a thread that holds a turn passes through (a pre-flight's two worker calls
  run in one turn).
Owner None: no owner rules (a call that belongs to no session).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable

from qviz.worker.errors import WorkerError

POLL_S = 0.25  # how often a waiter looks at cancelled()


class _Turn:
    def __init__(self, number: int, owner):
        self.number, self.owner = number, owner
        self.superseded = False


class FairQueue:
    """First-come-first-served run slots (module doc)."""

    def __init__(self, slots: int, *, max_waiting: int, timeout: float, name: str = "model jobs"):
        if slots < 1:
            raise ValueError(f"FairQueue needs at least one slot; got {slots}")
        self.slots, self.max_waiting, self.timeout, self.name = slots, max_waiting, timeout, name
        self._cond = threading.Condition()
        self._waiting: list[_Turn] = []  # oldest first
        self._running: dict[int, _Turn] = {}  # turn number -> turn
        self._numbers = itertools.count()
        self._local = threading.local()

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @contextlib.contextmanager
    def turn(self, owner=None, on_position: Callable[[int], None] | None = None, cancelled=None):
        """Hold one slot for the block (module doc for the rules and the errors)."""
        if getattr(self._local, "depth", 0):
            self._local.depth += 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        turn = self._enter(owner)
        try:
            self._wait(turn, on_position, cancelled)
        except BaseException:
            with self._cond:
                if turn in self._waiting:
                    self._waiting.remove(turn)
                self._cond.notify_all()
            raise
        self._local.depth = 1
        try:
            yield
        finally:
            self._local.depth = 0
            with self._cond:
                self._running.pop(turn.number, None)
                self._cond.notify_all()

    def _enter(self, owner) -> _Turn:
        with self._cond:
            if owner is not None:
                if any(t.owner == owner for t in self._running.values()):
                    raise WorkerError(
                        "your previous upload is still being checked; wait for its result before the next one",
                        "one_at_a_time",
                    )
                for old in self._waiting:
                    if old.owner == owner:
                        old.superseded = True
                self._waiting = [t for t in self._waiting if not t.superseded]
            if len(self._waiting) >= self.max_waiting:
                raise WorkerError(
                    f"the server is busy ({len(self._waiting)} {self.name} waiting); try again in a minute", "busy"
                )
            turn = _Turn(next(self._numbers), owner)
            self._waiting.append(turn)
            self._cond.notify_all()
            return turn

    def _wait(self, turn: _Turn, on_position, cancelled) -> None:
        deadline = time.monotonic() + self.timeout
        shown = None
        with self._cond:
            while True:
                if turn.superseded:
                    raise WorkerError("cancelled: a newer upload of this session replaced it", "cancelled")
                if self._waiting[0] is turn and len(self._running) < self.slots:
                    self._waiting.pop(0)
                    self._running[turn.number] = turn
                    self._cond.notify_all()
                    break
                place = self._waiting.index(turn) + 1  # 1: next to get a slot
                if place != shown and on_position is not None:
                    shown = place
                    _outside(self._cond, on_position, place)
                    continue  # the queue may have moved while we were outside the lock
                if cancelled is not None and _outside(self._cond, cancelled):
                    raise WorkerError("cancelled: the session that asked for it has gone", "cancelled")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WorkerError(
                        f"the server is busy (waited {self.timeout:g} s for a free worker); try again", "busy"
                    )
                self._cond.wait(min(left, POLL_S))
        if on_position is not None and shown is not None:
            on_position(0)


def _outside(cond: threading.Condition, fn, *args):
    """fn(*args) with `cond` released (a callback may draw on a page or take other locks)."""
    cond.release()
    try:
        return fn(*args)
    finally:
        cond.acquire()
