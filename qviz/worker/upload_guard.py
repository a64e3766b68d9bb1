"""UploadGuard: failed pre-flights remembered by content hash, and a backoff for sessions that keep failing.

    >>> clock = iter([0.0, 0.0, 0.0, 1.0, 5.0]).__next__
    >>> guard = UploadGuard(free_failures=1, backoff_base=2.0, clock=clock)
    >>> guard.failed("tab-1", "onnx:ab12", "the model took longer than 60 s")   # t = 0
    >>> guard.remembered("onnx:ab12")["message"]        # the same bytes again, from any session
    'the model took longer than 60 s'
    >>> guard.failed("tab-1", "onnx:cd34", "not an ONNX model")                  # t = 0: 2nd failure
    >>> guard.wait_left("tab-1")                                                 # t = 1: waits until 2
    1.0
    >>> guard.wait_left("tab-1")                                                 # t = 5
    0.0

Why (issue 12): a model that hangs costs a worker its whole wall limit; re-uploading the same bytes
(in a new tab too) repeated that for free. Remembered failures answer at once, without a worker.
Bytes changed by one byte are new bytes: for those, the session that sent them waits
backoff_base * 2**(k - 1) s (at most backoff_max) after its k-th failure past `free_failures`,
so a student who fixes a mistake or two never waits, and an attacker's rate halves each time.
A pass resets the session's count. What is remembered expires after `ttl` s (a failure caused by
a loaded machine, e.g. a wall-clock limit, is not held against those bytes forever).

A "session" is whatever key the caller passes (the app: one per browser tab). New tabs start
with no failures; the content-hash memory still answers for bytes seen before.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from qviz.worker.errors import WorkerError

# Refusals that say nothing about the upload: never remembered, never counted.
TRANSIENT_KINDS = ("busy", "cancelled", "one_at_a_time", "backoff")


def is_transient(error: Exception) -> bool:
    return isinstance(error, WorkerError) and error.kind in TRANSIENT_KINDS


class UploadGuard:
    """Memory of failed uploads and per-session backoff (module doc); thread-safe."""

    def __init__(
        self,
        *,
        max_entries: int = 4096,
        ttl: float = 3600.0,
        free_failures: int = 2,
        backoff_base: float = 2.0,
        backoff_max: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.max_entries, self.ttl = max_entries, ttl
        self.free_failures, self.backoff_base, self.backoff_max = free_failures, backoff_base, backoff_max
        self.clock = clock
        self._lock = threading.Lock()
        self._failed: OrderedDict[str, tuple[float, dict]] = OrderedDict()  # key -> (when, record)
        self._sessions: dict[str, tuple[int, float]] = {}  # session -> (failures in a row, may retry at)

    def remembered(self, key: str) -> dict | None:
        """The record of `key`'s failure ({"message": ..., and what the caller stored}), or None."""
        now = self.clock()
        with self._lock:
            hit = self._failed.get(key)
            if hit is None or now - hit[0] > self.ttl:
                self._failed.pop(key, None)
                return None
            self._failed.move_to_end(key)
            return hit[1]

    def wait_left(self, session: str) -> float:
        """Seconds `session` must still wait before its next upload is checked (0.0: none)."""
        now = self.clock()
        with self._lock:
            _, until = self._sessions.get(session, (0, 0.0))
        return max(0.0, until - now)

    def check_session(self, session: str) -> None:
        """A "backoff" WorkerError while `session` must wait."""
        left = self.wait_left(session)
        if left > 0:
            raise WorkerError(
                f"your last uploads failed their checks; wait {left:.0f} s before the next one", "backoff"
            )

    def failed(self, session: str, key: str, message: str, **record) -> None:
        """Remember `key`'s failure and count it against `session`."""
        now = self.clock()
        with self._lock:
            self._failed[key] = (now, {"message": message, **record})
            self._failed.move_to_end(key)
            while len(self._failed) > self.max_entries:
                self._failed.popitem(last=False)
            count = self._sessions.get(session, (0, 0.0))[0] + 1
            extra = count - self.free_failures
            wait = 0.0 if extra <= 0 else min(self.backoff_max, self.backoff_base * 2 ** (extra - 1))
            self._sessions[session] = (count, now + wait)

    def passed(self, session: str) -> None:
        with self._lock:
            self._sessions.pop(session, None)


_default = UploadGuard()


def default_guard() -> UploadGuard:
    """The process-wide guard the app uses."""
    return _default
