"""The worker pool the security tests share: short limits, and the test-only tasks (qviz_dev.workers)."""

from __future__ import annotations

import pytest

from qviz_dev.workers import make_pool


@pytest.fixture(scope="session")
def pool():
    with make_pool() as p:
        yield p
