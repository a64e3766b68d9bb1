"""Wait for a condition instead of sleeping a fixed time: as fast as the machine allows, and a
clear failure (not a flaky assertion later) when it never holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.05, what: str = "") -> T:
    """Call `predicate` every `interval` s until it returns something truthy; return that value.

    Raises TimeoutError (naming `what`, or the predicate) after `timeout` seconds.

        >>> wait_until(lambda: 42)
        42
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what or getattr(predicate, '__name__', 'condition')} did not hold within {timeout} s")
        time.sleep(interval)
