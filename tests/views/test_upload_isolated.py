"""An uploaded model is evaluated, swept, timed and deployed through the pages without one
onnxruntime session in the server process: every session runs in the upload's worker
(qviz.worker.host), and the numbers shown equal the same work done in this process."""

from __future__ import annotations

import io

import numpy as np
import onnxruntime

from qviz.config import PRESETS
from qviz.evaluate import evaluate
from qviz.ui import i18n
from qviz.worker import WorkerError
from qviz.worker.host import ModelHost
from qviz_dev.app_pages import by_label, metric, open_page, texts, tiny_model, upload

N = 96  # test examples uploaded with the model


def npz_bytes(x, y) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, x=x, y=y)
    return buf.getvalue()


def forbid_local_sessions(monkeypatch) -> list:
    """From now on, creating an onnxruntime session in this process fails (and is recorded)."""
    made = []

    def forbidden(*args, **kwargs):
        made.append(args)
        raise AssertionError("an onnxruntime session was created in the server process")

    monkeypatch.setattr(onnxruntime, "InferenceSession", forbidden)
    return made


def test_every_page_runs_an_upload_in_its_worker(digits_mlp, monkeypatch):
    x, y = digits_mlp.sample.test.x[:N], digits_mlp.sample.test.y[:N]
    expected = evaluate(digits_mlp.model, PRESETS["w8a8"], (x, y), calib=x)  # in this process
    at = open_page("qviz/views/model.py")  # the default sample's sessions run here: it is ours
    no_local_sessions = forbid_local_sessions(monkeypatch)
    at = upload(at, "model_upload_onnx", "my_mlp.onnx", digits_mlp.sample.model_bytes)
    at = upload(at, "model_upload_npz", "my_data.npz", npz_bytes(x, y))
    assert not at.exception and not at.error, texts(at)

    at.session_state["model_config"] = PRESETS["w8a8"].to_json()
    at.switch_page("qviz/views/tune.py")
    at = at.run()
    assert not at.exception and not at.error, texts(at)
    assert metric(at, "tn_accuracy") == f"{expected.accuracy:.2%}"

    at.switch_page("qviz/views/sensitivity.py")
    at = at.run()
    at.button(key="sens_run").click()
    at = at.run()
    assert not at.exception and not at.error, texts(at)
    assert at.get("plotly_chart"), "the sweep drew no heat map"

    at.switch_page("qviz/views/tradeoffs.py")
    at = at.run()
    at.button(key="trade_measure").click()
    at = at.run()
    assert not at.exception and not at.error, texts(at)
    assert at.dataframe[0].value[i18n.translate("to_latency", "en")].notna().all()

    at.switch_page("qviz/views/export.py")
    at = at.run()
    by_label(at.button, "exp_build_deploy").click().run()
    assert not at.exception and not at.error, texts(at)
    assert no_local_sessions == []


PAGES = [
    "qviz/views/learn.py",
    "qviz/views/model.py",
    "qviz/views/layer.py",
    "qviz/views/tune.py",
    "qviz/views/sensitivity.py",
    "qviz/views/tradeoffs.py",
    "qviz/views/export.py",
]
BUTTONS = {"qviz/views/sensitivity.py": ["sens_run", "sens_search_run"], "qviz/views/tradeoffs.py": ["trade_measure"]}


def test_a_failing_worker_is_a_message_on_every_page(monkeypatch):
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "fails.onnx", tiny_model("fails_later"))
    assert not at.exception and not at.error, texts(at)
    message = "the model took longer than 60 s (the worker's time limit)"

    def fail(self, op, *args):
        raise WorkerError(message, "wall_time")

    monkeypatch.setattr(ModelHost, "_call", fail)
    at.session_state["model_config"] = PRESETS["w8a8"].to_json()
    shown = set()
    for page in PAGES:
        at.switch_page(page)
        at = at.run()
        for key in BUTTONS.get(page, []):
            at.button(key=key).click()
            at = at.run()
            assert not at.exception, (page, key)
        if page == "qviz/views/export.py":
            by_label(at.button, "exp_build_deploy").click().run()
        assert not at.exception, page
        shown |= {page for e in at.error if "took longer than 60 s" in e.value}
    assert {"qviz/views/layer.py", "qviz/views/tune.py", "qviz/views/sensitivity.py"} <= shown
