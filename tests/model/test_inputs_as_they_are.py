"""Inputs as models declare them (issue 17): scalar inputs, fixed batch sizes, several inputs with
their batch on different axes, integer token ids, optional inputs, sizes the model runs on."""

from __future__ import annotations

import io

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from qviz.config import PRESETS
from qviz.evaluate import from_arrays, generated
from qviz.evaluate.evaluation import evaluate, make_runner
from qviz.model import ModelError, load_model, make_session
from qviz.model.load.input_data import read_inputs_npz
from qviz.model.load.model_inputs import fitting_dim, index_limits, model_inputs
from qviz.model.simulate.calibrate import calibration_feeds
from qviz.quant import SpecError
from qviz_dev import model_factory as mf


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def vad_like() -> onnx.ModelProto:
    """Silero-VAD-like: x[batch, 16], state[2, batch, 8], sr[] int64 ->
    y[batch, 8] = MatMul(x * sr / 16000, w) + ReduceSum(state, axis 0); stateN[2, batch, 8] = state * 0.5."""
    nodes = [
        helper.make_node("Cast", ["sr"], ["srf"], to=TensorProto.FLOAT),
        helper.make_node("Div", ["srf", "k"], ["s"]),
        helper.make_node("Mul", ["x", "s"], ["xs"]),
        helper.make_node("MatMul", ["xs", "w"], ["h"], name="proj"),
        helper.make_node("ReduceSum", ["state", "axes0"], ["st"], keepdims=0),
        helper.make_node("Add", ["h", "st"], ["y"]),
        helper.make_node("Mul", ["state", "half"], ["stateN"]),
    ]
    inputs = [
        mf.vinfo("x", ["batch", 16]),
        mf.vinfo("state", [2, "batch", 8]),
        mf.vinfo("sr", [], TensorProto.INT64),
    ]
    outputs = [mf.vinfo("y", ["batch", 8]), mf.vinfo("stateN", [2, "batch", 8])]
    inits = [
        mf.init("w", mf.rand((16, 8), 3)),
        mf.init("k", np.array(16000, np.float32)),
        mf.init("axes0", np.array([0], np.int64)),
        mf.init("half", np.array(0.5, np.float32)),
    ]
    return mf.make_model(nodes, inputs, outputs, inits)


def token_model(vocab: int) -> onnx.ModelProto:
    """ids[N, seq] int64 -> Gather(E[vocab, 8]) -> ReduceMean over seq -> MatMul 'head' -> y[N, 3]."""
    nodes = [
        helper.make_node("Cast", ["ids"], ["ids32"], to=TensorProto.INT32),
        helper.make_node("Gather", ["E", "ids32"], ["e"]),
        helper.make_node("ReduceMean", ["e", "axes1"], ["m"], keepdims=0),
        helper.make_node("MatMul", ["m", "w"], ["y"], name="head"),
    ]
    inits = [mf.init("E", mf.rand((vocab, 8), 4)), mf.init("w", mf.rand((8, 3), 5)), mf.init("axes1", np.array([1]))]
    return mf.make_model(nodes, [mf.vinfo("ids", ["N", "seq"], TensorProto.INT64)], [mf.vinfo("y", ["N", 3])], inits)


def needs_32(pixels: int = 1024) -> onnx.ModelProto:
    """x[N, 1, H, W] -> Reshape to [N, pixels] -> MatMul 'fc' -> y[N, 4]: only H x W = pixels runs."""
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["y"], name="fc"),
    ]
    inits = [mf.init("shape", np.array([0, pixels], np.int64)), mf.init("w", mf.rand((pixels, 4), 6))]
    return mf.make_model(nodes, [mf.vinfo("x", ["N", 1, "H", "W"])], [mf.vinfo("y", ["N", 4])], inits)


def reference(model: onnx.ModelProto, feed: dict) -> list[np.ndarray]:
    return make_session(model).run(None, feed)


# ---- scalar inputs and batch axes ---------------------------------------------------------


def test_scalar_input_from_npz_is_one_value_for_every_batch():
    loaded = load_model(mf.to_bytes(vad_like()))
    x, state = mf.rand((70, 16), 1), mf.rand((2, 70, 8), 2)
    data = read_inputs_npz(npz(x=x, state=state, sr=np.int64(8000)), loaded.inputs)
    assert data.rows == 70 and data.x["sr"].shape == () and int(data.x["sr"]) == 8000
    ev = from_arrays(loaded, data.x)
    assert [f["x"].shape[0] for f in ev.feeds] == [64, 6] and [f["state"].shape[1] for f in ev.feeds] == [64, 6]
    assert all(int(f["sr"]) == 8000 for f in ev.feeds)
    y, state_n = make_runner(loaded, ev).float_outputs()
    want = reference(vad_like(), {"x": x, "state": state, "sr": np.array(8000)})
    np.testing.assert_allclose(y, want[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(state_n, want[1], rtol=1e-6)  # joined on its batch axis (1)


@pytest.mark.parametrize("sr", [np.array([16000]), np.array([[16000]])], ids=["1-d", "2-d"])
def test_scalar_input_accepts_one_value_in_any_shape(sr):
    loaded = load_model(mf.to_bytes(vad_like()))
    data = read_inputs_npz(npz(x=mf.rand((3, 16)), state=mf.rand((2, 3, 8)), sr=sr), loaded.inputs)
    assert data.x["sr"].shape == ()


def test_scalar_input_with_several_values_is_refused():
    loaded = load_model(mf.to_bytes(vad_like()))
    with pytest.raises(SpecError, match="sr is a scalar input: give one value"):
        read_inputs_npz(npz(x=mf.rand((3, 16)), state=mf.rand((2, 3, 8)), sr=np.array([8000, 16000])), loaded.inputs)


def test_batch_axis_rows_must_agree():
    loaded = load_model(mf.to_bytes(vad_like()))
    with pytest.raises(SpecError, match="same number of rows"):
        read_inputs_npz(npz(x=mf.rand((3, 16)), state=mf.rand((2, 4, 8)), sr=np.int64(1)), loaded.inputs)


def test_scalar_and_batch_axes_without_data():
    loaded = load_model(mf.to_bytes(vad_like()))
    data = generated(loaded, n=10)
    feed = data.feeds[0]
    assert (feed["x"].shape, feed["state"].shape, feed["sr"].shape) == ((10, 16), (2, 10, 8), ())
    ev = evaluate(loaded, PRESETS["w8a8"], data)
    # w8a8 quantizes every tensor the deployed graph does: 15.6 dB, what the deployed model measures too
    assert ev.n == 10 and ev.fidelity["sqnr_db"] > 10


# ---- fixed batch sizes --------------------------------------------------------------------


@pytest.mark.parametrize("batch, rows, sizes", [(1, 3, [1, 1, 1]), (4, 10, [4, 4, 4]), (4, 3, [4])])
def test_fixed_batch_pads_the_last_chunk_and_keeps_every_sample(batch, rows, sizes):
    model = mf.conv_net(batch=batch)
    loaded = load_model(mf.to_bytes(model))
    x, y = mf.rand((rows, 3, 8, 8), 7), np.arange(rows) % 10
    data = from_arrays(loaded, x, y)
    assert [f["x"].shape[0] for f in data.feeds] == sizes and data.n == rows and len(data.labels) == rows
    assert data.pad == sum(sizes) - rows
    np.testing.assert_array_equal(data.feeds[-1]["x"][-1], x[-1])  # padding repeats the last row
    out = make_runner(loaded, data).float_outputs()[0]
    want = np.concatenate([reference(model, {"x": x[i : i + 1].repeat(batch, 0)})[0][:1] for i in range(rows)])
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    assert evaluate(loaded, PRESETS["w8a8"], data).n == rows


def test_fixed_batch_calibration_keeps_the_short_last_chunk():
    loaded = load_model(mf.to_bytes(mf.conv_net(batch=4)))
    feeds = calibration_feeds(loaded.model, mf.rand((6, 3, 8, 8)))
    assert [f["x"].shape[0] for f in feeds] == [4, 4]


def test_head_of_a_fixed_batch_never_cuts_a_batch():
    loaded = load_model(mf.to_bytes(mf.conv_net(batch=4)))
    part = from_arrays(loaded, mf.rand((12, 3, 8, 8)), np.arange(12) % 10).head(5)
    assert [f["x"].shape[0] for f in part.feeds] == [4, 4] and part.n == 5 and part.pad == 3
    assert make_runner(loaded, part).float_outputs()[0].shape == (5, 10)


# ---- two inputs ---------------------------------------------------------------------------


def test_two_inputs_are_batched_and_padded_together():
    model = mf.multi_input(batch=2)
    loaded = load_model(mf.to_bytes(model))
    a, b = mf.rand((5, 8), 1), mf.rand((5, 8), 2)
    ev = from_npz_bytes(loaded, npz(a=a, b=b))
    assert [(f["a"].shape[0], f["b"].shape[0]) for f in ev.feeds] == [(2, 2)] * 3 and ev.n == 5
    want = np.concatenate([reference(model, {"a": a[i : i + 2], "b": b[i : i + 2]})[0] for i in (0, 2)])
    got = make_runner(loaded, ev).float_outputs()[0]
    np.testing.assert_allclose(got[:4], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[4], reference(model, {"a": a[[4, 4]], "b": b[[4, 4]]})[0][0], rtol=1e-5, atol=1e-6)


def from_npz_bytes(loaded, data: bytes):
    parsed = read_inputs_npz(data, loaded.inputs)
    return from_arrays(loaded, parsed.x, parsed.y)


# ---- integer token inputs -----------------------------------------------------------------


def test_token_ids_stay_within_the_table_they_index():
    loaded = load_model(mf.to_bytes(token_model(vocab=3)))
    assert index_limits(loaded.model) == {"ids": 3}
    ids = generated(loaded, n=64).feeds[0]["ids"]
    assert ids.dtype == np.int64 and set(np.unique(ids)) == {0, 1, 2}
    assert evaluate(loaded, PRESETS["w8a8"]).n == 64  # index 3 would be out of range


def test_token_ids_cover_a_large_table():
    loaded = load_model(mf.to_bytes(token_model(vocab=500)))
    ids = model_inputs(loaded, rows=64)["ids"]
    assert ids.min() >= 0 and ids.max() < 500 and len(np.unique(ids)) > 100


def test_integers_that_index_nothing_are_in_0_100():
    nodes = [
        helper.make_node("Cast", ["n"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("MatMul", ["f", "w"], ["y"]),
    ]
    model = mf.make_model(
        nodes, [mf.vinfo("n", ["N", 4], TensorProto.INT32)], [mf.vinfo("y", ["N", 2])], [mf.init("w", mf.rand((4, 2)))]
    )
    n = generated(load_model(mf.to_bytes(model)), n=256).feeds[0]["n"]
    assert n.dtype == np.int32 and n.min() >= 0 and 90 <= n.max() < 100


# ---- optional inputs ----------------------------------------------------------------------


def test_inputs_with_an_initializer_are_optional_and_not_fed():
    model = mf.conv_net()
    model.graph.input.extend(mf.vinfo(t.name, list(t.dims)) for t in model.graph.initializer)
    loaded = load_model(mf.to_bytes(model))
    assert [t.name for t in loaded.inputs] == ["x"]
    ev = evaluate(loaded, PRESETS["w8a8"])
    assert ev.n == 64 and ev.fidelity["sqnr_db"] > 20


# ---- sizes the model runs on --------------------------------------------------------------


def test_dynamic_sizes_are_ones_the_model_runs_on():
    loaded = load_model(mf.to_bytes(needs_32()))
    assert fitting_dim(loaded) == 32 and fitting_dim(loaded, start=1) == 32
    data = generated(loaded, n=8)
    assert data.feeds[0]["x"].shape == (8, 1, 32, 32) and "H/W = 32" in data.source
    assert evaluate(loaded, PRESETS["w8a8"], data).n == 8  # calibration (start 1) fits too


def test_fixed_shapes_are_used_exactly_and_nothing_runs():
    class NoRuns:
        def session(self, *args, **kwargs):
            raise AssertionError("a fixed shape needs no probe run")

    loaded = load_model(mf.to_bytes(mf.conv_net(batch=1))).isolated(NoRuns())
    assert model_inputs(loaded, rows=64, one_batch=True)["x"].shape == (1, 3, 8, 8)


def test_a_model_that_runs_on_no_generated_size_says_so():
    model = needs_32(pixels=1000)
    with pytest.raises(ModelError, match=r"none of the generated sizes for its dynamic dims \(H, W: tried 8, 32"):
        generated(load_model(mf.to_bytes(model)))
