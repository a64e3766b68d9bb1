"""WorkerError: what a user reads when the worker, not the model check, ended a call.

    >>> import signal
    >>> e = exit_error(-signal.SIGSEGV, Limits())
    >>> e.kind, str(e)
    ('crash', 'the model crashed the worker (signal 11, SIGSEGV); the server is fine, only this model failed')

Kinds: "crash" (a signal), "memory" (over the address-space limit), "cpu_time", "wall_time",
"busy" (too many calls waiting, or no room in the workers' memory budget), "cancelled" (the
session left, or a newer upload replaced a waiting one), "one_at_a_time" (the session's previous
upload is still being checked), "backoff" (the session's uploads keep failing: it waits),
"internal" (a bug in qviz; details go to the server log).
A ModelError or SpecError raised in the worker is re-raised as itself in the server.
WorkerError is a ModelError too (for the user, the model could not be run).
"""

from __future__ import annotations

import os
import signal

from qviz.model.safety import ModelError
from qviz.worker.limits import Limits


class WorkerError(ModelError):
    """A worker call failed for a reason other than a model check; `kind` says which.
    A ModelError: pages that show a model's failures show this one too."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown signal"


def memory_error(limits: Limits) -> WorkerError:
    return WorkerError(f"the model needed more than {limits.memory_text()} of memory (the worker's limit)", "memory")


def wall_error(limits: Limits) -> WorkerError:
    return WorkerError(f"the model took longer than {limits.wall_seconds:g} s (the worker's time limit)", "wall_time")


def exit_error(status: int | None, limits: Limits) -> WorkerError:
    """The error for a worker that ended without a reply. `status` is a waitpid status
    already decoded to -signal / exit code; None when it is unknown (the pool restarted)."""
    if status is None:
        return WorkerError("the worker stopped without an answer (the worker pool restarted)", "crash")
    if status >= 0:
        return WorkerError(f"the worker stopped without an answer (exit code {status})", "crash")
    number = -status
    if number == signal.SIGALRM:
        return wall_error(limits)
    if number == signal.SIGXCPU:
        return WorkerError(
            f"the model used more than {limits.cpu_seconds} s of CPU time (the worker's limit)", "cpu_time"
        )
    hint = (
        f"; it may have run out of its {limits.memory_text()} memory"
        if number in (signal.SIGABRT, signal.SIGKILL)
        else ""
    )
    return WorkerError(
        f"the model crashed the worker (signal {number}, {_signal_name(number)}){hint}; "
        "the server is fine, only this model failed",
        "crash",
    )


def decode_status(status: int) -> int:
    """waitpid status -> -signal number, or the exit code."""
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
