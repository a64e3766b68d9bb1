"""The worker's happy path: a model described, run and simulated in a worker gives what qviz
computes in-process; the wire format round-trips plain data and refuses anything else."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from qviz.config import preset
from qviz.model import ModelError, layer_table, load_model, make_session, weight_stats
from qviz.model.simulate.simulator import Simulator
from qviz.quant.spec import SpecError
from qviz.worker import Limits, WorkerPool, describe_upload, run_model, simulate_and_run
from qviz.worker.protocol import ProtocolError, decode, encode
from qviz_dev import model_factory as mf


@pytest.fixture(scope="module")
def pool():
    with WorkerPool(Limits(wall_seconds=30), max_workers=2) as p:
        yield p


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (a is None and math.isnan(b)) or (b is None and math.isnan(a)) or a == pytest.approx(b)
    return a == b


@pytest.mark.parametrize(
    "name", ["conv_net", "mlp", "fp16_weights", "qdq_conv", "lstm_net", "com_microsoft_ops", "no_layers"]
)
def test_describe_in_a_worker_matches_in_process(pool, name):
    data = mf.to_bytes(mf.ALL_GOOD[name]())
    info = describe_upload(data, pool=pool)
    loaded = load_model(data)
    layers = layer_table(loaded)
    assert info["summary"] == loaded.summary()
    assert info["layers"] == [_listify(dataclasses.asdict(layer)) for layer in layers]
    expected = weight_stats(loaded, layers).to_dict("records")
    assert len(info["weight_stats"]) == len(expected)
    for got, want in zip(info["weight_stats"], expected, strict=True):
        assert set(got) == set(want)
        assert all(_same(got[k], want[k]) for k in want), (got, want)


def test_describe_returns_the_model_normalized_in_the_worker(pool):
    """Weights from ConstantOfShape at opset 9: folded and upgraded in the worker, the same bytes
    and record as in this process (qviz.model.load.normalize)."""
    data = mf.to_bytes(mf.constant_of_shape_weights())
    info = describe_upload(data, pool=pool)
    loaded = load_model(data)
    assert info["model_bytes"] == loaded.model_bytes != data
    assert info["summary"]["normalization"] == loaded.normalization.to_dict()
    assert [x["id"] for x in info["layers"]] == ["conv"]


def _listify(value):
    if isinstance(value, (list, tuple)):
        return [_listify(v) for v in value]
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    return value


def test_nan_weights_come_back_as_numbers_and_none(pool):
    m = mf.conv_net()
    w = np.full((4, 3, 3, 3), np.nan, np.float32)
    m.graph.initializer[0].CopyFrom(mf.init("conv1.weight", w))
    row = describe_upload(mf.to_bytes(m), pool=pool)["weight_stats"][0]
    assert row["nonfinite"] == w.size and row["abs_max"] is None


@pytest.mark.parametrize("name", ["conv_net", "mlp", "qoperator", "multi_input"])
def test_run_model_matches_onnxruntime_in_process(pool, name):
    model = mf.ALL_GOOD[name]()
    feeds = mf.random_inputs(model)
    got = run_model(mf.to_bytes(model), feeds, pool=pool)
    sess = make_session(mf.to_bytes(model))
    want = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds), strict=True))
    assert list(got) == list(want)
    for k in want:
        assert got[k].dtype == want[k].dtype
        np.testing.assert_array_equal(got[k], want[k])


def test_simulate_and_run_matches_the_simulator_in_process(pool):
    model = mf.conv_net()
    data, calib = mf.to_bytes(model), mf.random_inputs(model, batch=4, seed=1)["x"]
    feeds = mf.random_inputs(model, batch=2, seed=2)
    config = preset("w8a8")
    got = simulate_and_run(data, config.to_json(), calib, feeds, pool=pool)
    want = make_session(Simulator(load_model(data), calib).simulate(config), check=False).run(None, feeds)[0]
    np.testing.assert_array_equal(got["y"], want)


def test_default_pool_and_per_call_limits():
    from qviz.worker import default_pool

    info = describe_upload(mf.to_bytes(mf.mlp()), limits=Limits(wall_seconds=20))
    assert [layer["id"] for layer in info["layers"]] == ["fc1", "fc2", "proj"]
    assert default_pool() is default_pool() and default_pool().max_workers >= 1


def test_errors_from_the_checks_pass_through(pool):
    with pytest.raises(ModelError, match="not an ONNX model"):
        describe_upload(b"\x89PNG", pool=pool)
    with pytest.raises(SpecError, match="config is not valid JSON"):
        simulate_and_run(mf.to_bytes(mf.conv_net()), "{", None, {}, pool=pool)


# ---- protocol ---------------------------------------------------------------------------------


def _frame(value) -> bytes:
    return b"".join(bytes(p) for p in encode(value))[8:]


def test_protocol_round_trip_plain_data():
    value = {"a": [1, 2.5, None, True, "s", float("inf")], "b": {"c": (1, 2)}, "raw": b"\x00 bytes", "z": np.float32(2)}
    assert decode(_frame(value)) == {
        "a": [1, 2.5, None, True, "s", float("inf")],
        "b": {"c": [1, 2]},
        "raw": b"\x00 bytes",
        "z": 2.0,
    }
    assert math.isnan(decode(_frame([float("nan")]))[0])


@pytest.mark.parametrize(
    "x",
    [
        np.arange(6, dtype=np.int8).reshape(2, 3),
        np.zeros((0, 4), np.float16),
        np.array(True),
        np.array([1 + 2j], np.complex64),
        np.arange(12.0).reshape(3, 4).T,
        np.array(np.nan),
    ],
    ids=["int8", "empty_f16", "bool_0d", "complex", "transposed", "nan_0d"],
)
def test_protocol_round_trip_arrays(x):
    got = decode(_frame({"x": x}))["x"]
    assert got.dtype == x.dtype and got.shape == x.shape
    np.testing.assert_array_equal(got, x)


@pytest.mark.parametrize(
    "value",
    [np.array([object()]), np.array(["text"]), {1: 2}, {"\x00": 1}, {1.5}],
    ids=["object_array", "str_array", "int_key", "nul_key", "set"],
)
def test_protocol_refuses_what_is_not_plain_data(value):
    with pytest.raises(ProtocolError):
        encode(value)


def test_protocol_rejects_deeply_nested_json():
    header = b'{"value": ' + b"[" * 100_000 + b"]" * 100_000 + b', "blobs": []}'
    with pytest.raises(ProtocolError):
        decode(len(header).to_bytes(4, "big") + header)


@pytest.mark.parametrize("edit", ["object_dtype", "bad_size", "bad_ref", "truncated", "not_json"])
def test_protocol_rejects_malformed_frames(edit):
    frame = bytearray(_frame({"x": np.zeros(4, np.float32)}))
    n = int.from_bytes(frame[:4], "big")
    header = bytes(frame[4 : 4 + n])
    replace = {
        "object_dtype": (b'"<f4"', b'"|O8"'),
        "bad_size": (b"16]", b"17]"),
        "bad_ref": (b'"\\u0000": 0', b'"\\u0000": 9'),
    }
    if edit in replace:
        old, new = replace[edit]
        header = header.replace(old, new)
        frame = bytearray(len(header).to_bytes(4, "big") + header + frame[4 + n :])
    elif edit == "truncated":
        frame = frame[:-3]
    else:
        frame[4:6] = b"{{"
    with pytest.raises(ProtocolError):
        decode(bytes(frame))


def test_limits_are_validated():
    with pytest.raises(ValueError, match="memory_bytes"):
        Limits(memory_bytes=0)
    assert Limits.from_env({"QVIZ_WORKER_MEMORY_MB": "512", "QVIZ_WORKER_WALL_S": "5"}) == Limits(
        memory_bytes=512 * 2**20, wall_seconds=5.0
    )
    assert Limits().memory_text() == "3 GB" and Limits(memory_bytes=512 * 2**20).memory_text() == "512 MB"
