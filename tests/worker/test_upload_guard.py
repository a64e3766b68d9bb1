"""Failed pre-flights are remembered by content hash, and a session that keeps failing waits
(issue 12, item 2: the same bytes, one byte changed, or a new tab repeated a hang for free)."""

from __future__ import annotations

import pytest

import qviz.ui.models
import qviz.ui.upload
from qviz.model import ModelError
from qviz.worker import WorkerError
from qviz.worker.upload_guard import UploadGuard
from qviz_dev.app_pages import open_page, tiny_model, upload

MODEL_PAGE = "qviz/views/model.py"


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def guard(monkeypatch):
    """A fresh guard for the app, on a clock the test moves; pre-flights counted, each one fails."""
    g = UploadGuard(free_failures=2, backoff_base=10.0, clock=Clock())
    monkeypatch.setattr(qviz.ui.upload, "default_guard", lambda: g)
    preflights: list[bytes] = []
    g.preflights = preflights  # type: ignore[attr-defined]

    def failing_preflight(data, *feeds):
        preflights.append(data)
        raise WorkerError("the model took longer than 2 s (the worker's time limit)", "wall_time")

    monkeypatch.setattr(qviz.ui.models, "preflight_model", failing_preflight)
    return g


def test_the_same_bytes_fail_at_once_in_a_new_tab(guard):
    data = tiny_model("remembered_hang")
    first = upload(open_page(MODEL_PAGE), "model_upload_onnx", "hang.onnx", data)
    assert len(first.error) == 1 and "longer than 2 s" in first.error[0].value
    new_tab = upload(open_page(MODEL_PAGE), "model_upload_onnx", "renamed.onnx", data)
    assert len(new_tab.error) == 1 and "longer than 2 s" in new_tab.error[0].value
    assert "not checked again" in new_tab.error[0].value
    assert len(guard.preflights) == 1  # the new tab's upload never reached a worker


def test_a_session_that_keeps_failing_waits_then_may_try_again(guard):
    at = open_page(MODEL_PAGE)
    for k in range(3):  # changed bytes every time: the memory of hashes cannot help
        at = upload(at, "model_upload_onnx", f"m{k}.onnx", tiny_model(f"changed_{k}"))
        assert "longer than 2 s" in at.error[0].value
    at = upload(at, "model_upload_onnx", "m3.onnx", tiny_model("changed_3"))
    assert len(at.error) == 1 and "wait 10 s before the next one" in at.error[0].value
    assert len(guard.preflights) == 3
    guard.clock.now += 10.5  # the backoff has passed: the same file is checked on the next run
    at = at.run()
    assert len(guard.preflights) == 4 and "longer than 2 s" in at.error[0].value


def test_refusals_about_the_server_are_not_held_against_the_file():
    g = UploadGuard(free_failures=0, clock=Clock())
    busy = WorkerError("busy", "busy")
    assert qviz.ui.upload.is_transient(busy) and not qviz.ui.upload.is_transient(ModelError("bad"))
    g.passed("tab")
    assert g.remembered("onnx/abc") is None and g.wait_left("tab") == 0.0
