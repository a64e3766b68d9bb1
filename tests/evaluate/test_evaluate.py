"""qviz.evaluate: the Runner against simulated-model sessions, evaluate(), data, fidelity, size, latency."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from qviz.config import PRESETS, LayerConfig, ModelConfig
from qviz.evaluate import (
    EvalData,
    Runner,
    config_latency,
    evaluate,
    fidelity,
    from_arrays,
    from_npz,
    from_sample,
    generated,
    kl_softmax,
    make_runner,
    spec_bytes,
    weight_candidate,
    weight_size,
)
from qviz.model import load_model, make_session
from qviz.model.simulate.simulator import Simulator
from qviz.quant import QuantSpec, SpecError
from qviz.quant.metrics import sqnr_db
from qviz.samples import load_sample
from qviz_dev import model_factory as mf

MODELS = ["conv_net", "mlp", "multi_input", "fp16_weights", "constant_weights", "lstm_net", "conv_transpose_net"]
CONFIGS = {
    "w8a8": PRESETS["w8a8"],
    "w4a8": PRESETS["w4a8"],
    "fp16": PRESETS["fp16"],
    "a8-per-channel": ModelConfig(
        default=LayerConfig(None, QuantSpec(bits=8, signed=False, symmetric=False, granularity="channel"))
    ),
    "dynamic": ModelConfig(
        default=LayerConfig(
            QuantSpec(bits=8), QuantSpec(bits=8, signed=False, symmetric=False), activations_dynamic=True
        )
    ),
}


def _oracle(sim: Simulator, config, data: EvalData) -> list[np.ndarray]:
    """The simulated model in its own onnxruntime session, run batch by batch."""
    sess = make_session(sim.simulate(config), check=False)
    parts = [sess.run(None, f) for f in data.feeds]
    return [np.concatenate([p[i] for p in parts]) for i in range(len(parts[0]))]


def _setup(name, n=12):
    model = mf.ALL_GOOD[name]()
    x = mf.random_inputs(model, batch=n, seed=3)
    sim = Simulator(mf.to_bytes(model), mf.random_inputs(model, batch=n, seed=4))
    return sim, from_arrays(sim.loaded, x)


@pytest.mark.parametrize("config", CONFIGS, ids=str)
@pytest.mark.parametrize("name", MODELS, ids=str)
def test_runner_matches_simulated_session(name, config):
    sim, data = _setup(name)
    runner = Runner(sim, data)
    cfg = CONFIGS[config]
    for got, want in zip(runner.outputs(cfg), _oracle(sim, cfg, data), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    for layer in runner.layers:  # one-layer configs run on the layer's switchable session
        one = ModelConfig().with_layer(layer.id, cfg.for_layer(layer.id))
        for got, want in zip(runner.outputs(one), _oracle(sim, one, data), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_one_layer_candidates_share_a_session():
    sim, data = _setup("conv_net")
    runner = Runner(sim, data)
    runner.float_outputs()
    built = runner.sessions_built
    layer = runner.layers[1]
    for bits in (8, 4, 3, 2):
        runner.outputs(ModelConfig().with_layer(layer.id, weight_candidate(bits)))
        runner.outputs(ModelConfig().with_layer(layer.id, LayerConfig(None, QuantSpec(bits=bits, signed=False))))
    assert runner.sessions_built == built + 2  # the layer's suffix session + the float cut session


def test_evaluate_sample_accuracy_matches_direct_session():
    sample = load_sample("digits_cnn")
    sim = Simulator(sample.model_bytes, np.asarray(sample.calibration.x))
    data = from_sample(sample, "test")
    ev = evaluate(sim, PRESETS["w4a8"], data)
    logits = _oracle(sim, PRESETS["w4a8"], data)[0]
    assert ev.accuracy == pytest.approx(np.mean(logits.argmax(1) == sample.test.y))
    assert ev.float_accuracy == pytest.approx(sample.card["fp32_test_accuracy"], abs=1e-3)
    assert ev.confusion.sum() == ev.n == len(sample.test.y)
    assert np.trace(ev.confusion) / ev.n == pytest.approx(ev.fidelity["agreement"])
    assert (ev.per_class["count"].sum(), list(ev.per_class["class"])) == (ev.n, list(range(10)))
    json.dumps(ev.to_dict(), allow_nan=False)


def test_evaluate_fp32_is_perfect_and_json_safe():
    ev = evaluate(mf.to_bytes(mf.conv_net()), PRESETS["fp32"], None)
    assert ev.accuracy is None and ev.fidelity == {"agreement": 1.0, "sqnr_db": math.inf, "cosine": 1.0, "kl": 0.0}
    assert json.loads(json.dumps(ev.to_dict(), allow_nan=False))["fidelity"]["sqnr_db"] == "inf"


def test_runner_reuse_across_evaluations():
    sim, data = _setup("mlp")
    runner = make_runner(sim, data)
    a = evaluate(runner, PRESETS["w8"])
    b = evaluate(runner, PRESETS["w8"])
    assert a.fidelity == b.fidelity and runner.sessions_built == 2  # float + one simulated


def test_fidelity_metrics():
    f = np.array([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    q = np.array([[1.5, 0.5, -1.0], [0.0, 1.0, 0.2]])
    got = fidelity(f, q)
    p = np.exp(f) / np.exp(f).sum(1, keepdims=True)
    r = np.exp(q) / np.exp(q).sum(1, keepdims=True)
    assert got["kl"] == pytest.approx(np.mean(np.sum(p * np.log(p / r), 1)))
    assert got["sqnr_db"] == pytest.approx(sqnr_db(f, q), rel=1e-6)
    assert got["agreement"] == 1.0 and kl_softmax(f, f) == 0.0


def test_generated_data_defaults_and_seed():
    model = mf.conv_net()
    a, b = generated(mf.to_bytes(model), n=10, seed=1), generated(mf.to_bytes(model), n=10, seed=1)
    assert a.n == 10 and a.labels is None and a.feeds[0]["x"].shape == (10, 3, 8, 8)
    np.testing.assert_array_equal(a.feeds[0]["x"], b.feeds[0]["x"])
    fixed = generated(mf.to_bytes(mf.conv_net(batch=2)), n=7)
    assert fixed.n == 6 and all(f["x"].shape[0] == 2 for f in fixed.feeds)


def test_generated_dynamic_non_batch_dims():
    model = mf.make_model(
        [mf.helper.make_node("Relu", ["x"], ["y"])], [mf.vinfo("x", ["N", "seq", 4])], [mf.vinfo("y", ["N", "seq", 4])]
    )
    assert generated(mf.to_bytes(model), n=3).feeds[0]["x"].shape == (3, 8, 4)
    assert generated(mf.to_bytes(model), n=3, dims={"seq": 5}).feeds[0]["x"].shape == (3, 5, 4)


def test_from_npz(tmp_path):
    model = mf.to_bytes(mf.conv_net())
    np.savez(tmp_path / "d.npz", x=mf.rand((5, 3, 8, 8)), y=np.arange(5))
    np.savez(tmp_path / "bad.npz", z=np.zeros(3))
    d = from_npz(tmp_path / "d.npz", model)
    assert d.n == 5 and list(d.labels) == [0, 1, 2, 3, 4]
    with pytest.raises(SpecError, match=r"bad.npz: keys must be x \(and optional y\)"):
        from_npz(tmp_path / "bad.npz", model)
    np.savez(tmp_path / "extra.npz", x=mf.rand((5, 3, 8, 8)), notes=np.zeros(1))  # same rule as the app's upload
    with pytest.raises(SpecError, match="unexpected \\['notes'\\]"):
        from_npz(tmp_path / "extra.npz", model)
    (tmp_path / "huge.npz").write_bytes(b"PK" + bytes(100))
    with pytest.raises(SpecError, match="limit"):
        from_npz(tmp_path / "huge.npz", model, max_bytes=50)
    with pytest.raises(SpecError, match="labels y"):
        from_arrays(model, mf.rand((5, 3, 8, 8)), np.zeros(3, np.int64))


@pytest.mark.parametrize(
    "spec, expected",
    [
        (None, 4 * 64),
        (QuantSpec(bits=8, granularity="channel", axis=0), 64 + 4 * 4),
        (QuantSpec(bits=4, granularity="channel", axis=0), 32 + 4 * 4),
        (QuantSpec(bits=3, granularity="tensor"), 24 + 4),
        (QuantSpec(bits=4, symmetric=False, signed=False, granularity="group", axis=1, group_size=8), 32 + 8 * 4 + 4),
        (QuantSpec(scheme="float", float_format="float16"), 128),
        (QuantSpec(scheme="kmeans", bits=2), 16 + 4 + 4 * 4),
    ],
    ids=["float", "int8-channel", "int4-channel", "int3-tensor", "uint4-group8-asym", "fp16", "kmeans2"],
)
def test_spec_bytes(spec, expected):
    assert spec_bytes((4, 16), spec) == expected


def test_weight_size_totals():
    loaded = load_model(mf.to_bytes(mf.conv_net()))
    sim = Simulator(loaded)
    rep = weight_size(sim.layers, loaded.weights, PRESETS["w8"])
    params = sum(math.prod(x.weight_shape) for x in sim.layers)
    assert rep.params == params and rep.weight_bytes == params + 4 * (4 + 8 + 10)
    assert weight_size(sim.layers, loaded.weights, PRESETS["fp32"]).bits_per_weight == 32.0


def test_latency_deployed_vs_no_native_form():
    model = mf.conv_net()
    sim = Simulator(mf.to_bytes(model), mf.random_inputs(model, batch=8, seed=1))
    feed = mf.random_inputs(model, batch=2)
    lat = config_latency(sim, PRESETS["w8a8"], feed, runs=3, warmup=1)
    assert (lat.model, lat.native_speedup, lat.runs, lat.threads) == ("deployed", True, 3, 1)
    lat3 = config_latency(sim, ModelConfig(default=weight_candidate(3)), feed, runs=3, warmup=1)
    assert (lat3.model, lat3.native_speedup) == ("simulated", False) and "no native form" in lat3.note
    assert lat3.median_ms > 0 and lat3.p90_ms >= lat3.median_ms
