"""Uploads in the app are pre-flighted in a worker (qviz.worker.preflight): run-time bombs end as a short
message for that user, the server's memory stays flat, valid models load as before."""

from __future__ import annotations

import io

import numpy as np
import pytest

from qviz.evaluate import generated
from qviz.model import load_model
from qviz.worker.preflight import preflight_model, smoke_feeds
from qviz_dev import model_factory as mf
from qviz_dev.app_pages import metric, open_page, texts, tiny_model, upload
from qviz_dev.hostile_models import CORPUS
from qviz_dev.workers import rss_bytes

MAX_RSS_GROWTH = 200 * 2**20  # the bombs need >= 1 GiB: a run in this process would show


@pytest.fixture
def short_limits(monkeypatch):
    """Limits read per call by qviz.worker.preflight: 1 GiB (the smallest that works, see qviz_dev/workers.py), 2 s wall."""
    monkeypatch.setenv("QVIZ_WORKER_MEMORY_MB", "1024")
    monkeypatch.setenv("QVIZ_WORKER_CPU_S", "5")
    monkeypatch.setenv("QVIZ_WORKER_WALL_S", "2")


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize("model", ["tiny", "digits_cnn"])
def test_smoke_feeds_are_the_first_generated_batch(bundled, model):
    loaded = load_model(tiny_model()) if model == "tiny" else bundled(model).model
    expected = generated(loaded).feeds[0]
    got = smoke_feeds(loaded)
    assert expected.keys() == got.keys()
    for name in got:
        assert got[name].dtype == expected[name].dtype
        np.testing.assert_array_equal(got[name], expected[name])


def test_smoke_run_uses_the_declared_shapes_or_sizes_the_model_runs_on(short_limits):
    """In the worker, from the model itself: a fixed 1 x 3 x 8 x 8 is fed exactly; dynamic H, W
    that only run at H x W = 1024 (a detector's stride rule) get 32, not the default 8."""
    from onnx import helper

    from qviz.worker.preflight import smoke_run

    assert dict(smoke_run(mf.to_bytes(mf.conv_net(batch=1)))["inputs"]) == {"x": [1, 3, 8, 8]}
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["f"]), helper.make_node("MatMul", ["f", "w"], ["y"])]
    inits = [mf.init("shape", np.array([0, 1024], np.int64)), mf.init("w", mf.rand((1024, 2)))]
    model = mf.make_model(nodes, [mf.vinfo("x", ["N", 1, "H", "W"])], [mf.vinfo("y", ["N", 2])], inits)
    assert dict(smoke_run(mf.to_bytes(model))["inputs"]) == {"x": [64, 1, 32, 32]}


@pytest.mark.parametrize(
    "case, message",
    [
        ("shape_op_bomb", "needed more than"),
        ("endless_loop", "took longer than"),
    ],
    ids=["runtime-memory-bomb", "endless-loop"],
)
def test_runtime_bomb_upload_is_a_short_error(short_limits, case, message):
    at = open_page("qviz/views/model.py")
    before = rss_bytes()
    at = upload(at, "model_upload_onnx", "bomb.onnx", CORPUS[case].data)
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in errors[0]
    assert rss_bytes() - before < MAX_RSS_GROWTH
    assert at.session_state["model_source"]["kind"] == "sample"  # the bomb never became the model


def test_valid_upload_loads_and_shows_its_summary(short_limits):
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "tiny.onnx", tiny_model())
    assert not at.exception and not at.error
    assert metric(at, "sum_params") == "12"
    assert any("tiny.onnx" in text for text in texts(at, ("text",)))


def test_upload_is_normalized_in_the_worker_not_in_the_server(short_limits, monkeypatch):
    """ConstantOfShape weights at opset 9 (ONNX's light zoo): the worker folds and upgrades them;
    the server loads the worker's bytes and shows what was done, without normalizing itself."""
    import hashlib

    from qviz.model.load import loader

    data = mf.to_bytes(mf.constant_of_shape_weights())
    normalized_here = []
    real = loader.normalize_model

    def spy(model, raw, **kwargs):
        normalized_here.append(hashlib.sha256(raw).hexdigest())
        return real(model, raw, **kwargs)

    monkeypatch.setattr(loader, "normalize_model", spy)
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "light.onnx", data)
    assert not at.exception and not at.error
    assert (metric(at, "sum_layers"), metric(at, "sum_opset")) == ("1", "21")
    assert any("folded by onnxruntime into 2 initializers" in x for x in texts(at, ("info",)))
    assert hashlib.sha256(data).hexdigest() not in normalized_here
    assert at.session_state["model_source"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_npz_whose_first_batch_bombs_is_refused(short_limits):
    """ConstantOfShape(shape input): generated inputs (0..3) pass, the user's [32768, 16384] does not."""
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "cos.onnx", CORPUS["cos_runtime_bomb"].data)
    assert not at.exception and at.session_state["model_source"]["kind"] == "upload"
    # its outputs' shapes follow the generated VALUES: the Model page's output-kind form says so (issue 12)
    assert all("do not join across batches" in e.value for e in at.error)
    before = rss_bytes()
    at = upload(at, "model_upload_npz", "big.npz", npz_bytes(x=np.array([32768, 16384], np.int64)))
    assert not at.exception and sum("needed more than" in e.value for e in at.error) == 1
    assert rss_bytes() - before < MAX_RSS_GROWTH
    assert at.session_state.get("model_data") is None


def test_busy_pool_is_not_remembered(monkeypatch):
    """A "busy" refusal is about the server, not the file: the next run tries the same file again."""
    import qviz.ui.models
    from qviz.worker import WorkerError

    def busy(data):
        raise WorkerError("the server is busy: try again in a moment", "busy")

    monkeypatch.setattr(qviz.ui.models, "preflight_model", busy)
    at = upload(open_page("qviz/views/model.py"), "model_upload_onnx", "m.onnx", tiny_model("busy_fc"))
    assert len(at.error) == 1 and "the server is busy" in at.error[0].value
    monkeypatch.undo()
    at = at.run()
    assert not at.error and at.session_state["model_source"]["kind"] == "upload"


def test_a_folded_model_larger_than_a_megabyte_keeps_its_layers_in_the_worker():
    """Found on ONNX's light DenseNet in the app: the pre-flight worker's 1 MiB file limit stopped onnxruntime
    from writing the folded graph, so the upload had 0 layers while the CLI found 121."""
    info = preflight_model(mf.to_bytes(mf.constant_of_shape_weights(channels=10_000)))  # W folds to 1.08 MB
    assert [x["id"] for x in info["layers"]] == ["conv"]
    assert not any("not folded" in note for note in info["summary"]["normalization"]["notes"])
