"""An upload's Runner keeps at most a share of its worker's memory limit; a sample's the default."""

from __future__ import annotations

from types import SimpleNamespace

from qviz.evaluate.session_cache import DEFAULT_MEMORY_BUDGET, memory_budget_for
from qviz.model.runtime.executor import LOCAL
from qviz.ui.scoring import memory_budget
from qviz.worker.host import ModelHost
from qviz.worker.limits import Limits


def _model(executor):
    return SimpleNamespace(loaded=SimpleNamespace(executor=executor))


def test_upload_budget_follows_its_worker_limit():
    small = ModelHost(limits=Limits(memory_bytes=768 * 2**20))
    assert memory_budget(_model(small)) == memory_budget_for(768 * 2**20) == 256 * 2**20
    big = ModelHost(limits=Limits(memory_bytes=16 * 2**30))
    assert memory_budget(_model(big)) == DEFAULT_MEMORY_BUDGET  # never above the default
    assert memory_budget(_model(LOCAL)) is None  # a sample: the Runner's default
