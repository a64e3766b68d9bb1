"""Every hostile upload in the corpus gets one clear, short answer of the expected kind (the
worker's own limits end the slow ones); the server's memory stays flat."""

from __future__ import annotations

import contextlib

import pytest

from qviz.model import ModelError
from qviz.worker import WorkerError
from qviz_dev.hostile_models import ANSI, CORPUS, MARKDOWN, XSS
from qviz_dev.workers import rss_bytes

REJECTED = {name: case for name, case in CORPUS.items() if case.expect != "accept"}


def call(pool, case):
    args = [case.feeds] if case.task == "run_model" else []
    return pool.call(case.task, case.data, *args)


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 25
    assert len({case.data for case in CORPUS.values()}) == len(CORPUS)


@pytest.mark.parametrize("name", list(REJECTED))
def test_hostile_upload_is_rejected_clearly(pool, name):
    case = REJECTED[name]
    with pytest.raises((ModelError, WorkerError), match=case.match) as err:
        call(pool, case)
    message = str(err.value)
    if case.expect == "model":
        assert type(err.value) is ModelError
    else:
        assert isinstance(err.value, WorkerError) and err.value.kind == case.expect
    assert len(message) < 400 and "\n" not in message and "Traceback" not in message
    assert pool.live_workers() == []


def test_hostile_text_comes_back_verbatim_as_data(pool):
    """Markup and escapes are data: returned exactly, never interpreted here (the UI renders text)."""
    info = call(pool, CORPUS["hostile_text"])
    ids = [layer["id"] for layer in info["layers"]]
    assert ids == [XSS, MARKDOWN, ANSI]
    assert [row["id"] for row in info["weight_stats"]] == ids


def test_if_nested_32_deep_loads(pool):
    info = call(pool, CORPUS["if_nested_32"])
    assert info["summary"]["op_counts"] == {"If": 1} and info["layers"] == []


def _run_corpus(pool, names) -> None:
    for name in names:
        with contextlib.suppress(ModelError, WorkerError):
            call(pool, CORPUS[name])


def test_server_memory_stays_flat(pool):
    """RSS after 2 passes over the corpus (memory bombs included) within 20 MB of before."""
    quick = [name for name in CORPUS if name != "endless_loop"]  # the 2 s time bomb runs once
    _run_corpus(pool, quick)  # warm up: imports, caches, allocator pools of the server process
    before = rss_bytes()
    _run_corpus(pool, list(CORPUS) + quick)
    grown = rss_bytes() - before
    assert grown < 20 * 2**20, f"server RSS grew by {grown / 2**20:.1f} MB"
