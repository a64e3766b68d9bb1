"""Shared fixtures: short limits and a worker pool that also knows the test-only tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

from qviz.worker import Limits, WorkerPool

TESTS_DIR = Path(__file__).resolve().parents[1]
# NOTE: a worker inherits ~400 MB of address space from the preloaded modules, so 1 GiB
# (not 512 MB) is the smallest limit that still leaves onnxruntime room to work.
TEST_LIMITS = Limits(memory_bytes=2**30, cpu_seconds=5, wall_seconds=2.0)


def make_pool(**kw) -> WorkerPool:
    kw.setdefault("max_workers", 2)
    return WorkerPool(
        kw.pop("limits", TEST_LIMITS), task_modules=["security.fault_tasks"], extra_path=[TESTS_DIR], **kw
    )


@pytest.fixture(scope="session")
def pool():
    with make_pool() as p:
        yield p


def rss_bytes() -> int:
    """This process's resident set size, from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")
