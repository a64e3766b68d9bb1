"""Simulated models: resolved specs, weights = engine x_dq, activation nodes exact to the engine, caches."""

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from qviz.config import PRESETS, LayerConfig, ModelConfig
from qviz.model import layer_table, load_model, make_session
from qviz.model.simulate.byte_lru import ByteLRU
from qviz.model.simulate.resolve import resolve_layer_specs
from qviz.model.simulate.simulator import Simulator
from qviz.quant import QuantSpec, cast_to_float, fake_quantize, quantize
from qviz_dev.model_factory import ALL_GOOD, conv_net, init, make_model, mlp, rand, random_inputs, to_bytes, vinfo


def test_auto_axis_and_group_fallback():
    specs = resolve_layer_specs(layer_table(load_model(to_bytes(mlp()))), PRESETS["w4g32"])
    assert (specs["fc2"].weights.axis, specs["fc2"].weights.group_size, specs["fc2"].note) == (0, 32, "")
    assert specs["fc1"].weights.group_size == 16 and "groups of 16" in specs["fc1"].note
    conv = resolve_layer_specs(layer_table(load_model(to_bytes(conv_net()))), PRESETS["w4g32"])
    assert conv["conv1"].weights.granularity == "channel" and "per-channel" in conv["conv1"].note
    assert conv["fc"].weights.axis == 0 and PRESETS["w8"].default.weights.granularity == "channel"


WEIGHT_SPECS = {
    "int4-group": QuantSpec(bits=4, granularity="group", group_size=8),
    "int3-channel": QuantSpec(bits=3, granularity="channel"),
    "log4": QuantSpec(scheme="log", bits=4),
    "kmeans3": QuantSpec(scheme="kmeans", bits=3),
    "fp8": QuantSpec(scheme="float", float_format="float8_e4m3fn"),
    "fixed8": QuantSpec(scheme="fixed_point", bits=8, frac_bits=5),
}


@pytest.mark.parametrize("spec", WEIGHT_SPECS.values(), ids=WEIGHT_SPECS.keys())
def test_weights_are_engine_dequantized(spec):
    m = mlp()
    sim = Simulator(to_bytes(m))
    built = sim.build(ModelConfig(default=LayerConfig(spec, None)))
    inits = {t.name: numpy_helper.to_array(t) for t in built.graph.initializer}
    node = next(n for n in built.graph.node if n.name == "fc2")
    w = numpy_helper.to_array(next(t for t in m.graph.initializer if t.name == "fc2.weight"))
    want = quantize(w, spec.replace(axis=0 if spec.granularity == "group" else 1)).x_dq
    np.testing.assert_array_equal(inits[node.input[1]], want)


def _single_matmul(x_shape=(6, 16)):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")]
    return make_model(
        nodes, [vinfo("x", ["N", x_shape[1]])], [vinfo("y", ["N", 4])], [init("w", rand((x_shape[1], 4), 3))]
    )


def _quantized_input(sim: Simulator, config, x):
    """Run the simulated model and return the tensor the MatMul actually reads."""
    built = sim.build(config)
    node = next(n for n in built.graph.node if n.name == "mm")
    built.graph.output.append(onnx.ValueInfoProto(name=node.input[0]))
    return make_session(built.SerializeToString(), check=False).run([node.input[0]], {"x": x})[0]


ACT_SPECS = {
    "uint8-asym": QuantSpec(bits=8, signed=False, symmetric=False),
    "int5-sym": QuantSpec(bits=5),
    "int3-percentile": QuantSpec(bits=3, signed=False, symmetric=False, estimator="percentile", percentile=99.0),
    "int16": QuantSpec(bits=16, signed=True, symmetric=False),
    "int6-channel": QuantSpec(bits=6, granularity="channel"),
    "fixed8": QuantSpec(scheme="fixed_point", bits=8, frac_bits=4),
}


@pytest.mark.parametrize("spec", ACT_SPECS.values(), ids=ACT_SPECS.keys())
def test_static_activation_nodes_match_engine(spec):
    calib = rand((32, 16), 5, scale=2.0)
    x = rand((8, 16), 6, scale=3.0)  # wider than calibration: exercises the clip
    sim = Simulator(to_bytes(_single_matmul()), calib)
    got = _quantized_input(sim, ModelConfig(default=LayerConfig(None, spec)), x)
    axis_spec = spec.replace(axis=-1) if spec.granularity == "channel" else spec
    scale, zp = sim.qparams("x", axis_spec)
    axis = 1 if spec.granularity == "channel" else None
    want = fake_quantize(x, scale, zp, spec.qmin, spec.qmax, axis=axis)
    np.testing.assert_array_equal(got, want)


def test_dynamic_activation_matches_engine_per_batch():
    spec = QuantSpec(bits=8, signed=False, symmetric=False)
    x = rand((8, 16), 7, scale=2.0) + 0.5
    got = _quantized_input(Simulator(to_bytes(_single_matmul())), ModelConfig(default=LayerConfig(None, spec, True)), x)
    r = quantize(x, spec)
    np.testing.assert_allclose(got, r.x_dq, rtol=0, atol=float(r.scale) * 1e-5)


@pytest.mark.parametrize("fmt", ["float16", "bfloat16", "float8_e4m3fn", "float8_e5m2"])
def test_float_activation_casts_match_engine(fmt):
    spec = QuantSpec(scheme="float", float_format=fmt)
    x = rand((8, 16), 8, scale=40.0)
    got = _quantized_input(Simulator(to_bytes(_single_matmul())), ModelConfig(default=LayerConfig(None, spec)), x)
    np.testing.assert_array_equal(got, cast_to_float(x, fmt))


def test_changing_one_layer_requantizes_only_that_layer():
    sim = Simulator(to_bytes(conv_net()), rand((4, 3, 8, 8), 9))
    sim.simulate(PRESETS["w8a8"])
    assert sim.weight_quantizations == 3
    sim.simulate(PRESETS["w8a8"])
    assert sim.weight_quantizations == 3
    sim.simulate(PRESETS["w8a8"].with_layer("fc", LayerConfig(QuantSpec(bits=3, granularity="channel"), None)))
    assert sim.weight_quantizations == 4


@pytest.mark.parametrize("preset", list(PRESETS))
@pytest.mark.parametrize("name", [k for k in ALL_GOOD if k != "no_layers"])
def test_every_factory_model_simulates_and_runs(name, preset):
    m = ALL_GOOD[name]()
    data = Simulator(to_bytes(m)).simulate(PRESETS[preset])
    onnx.checker.check_model(onnx.load_model_from_string(data), full_check=True)
    outs = make_session(data).run(None, random_inputs(m))
    assert all(np.all(np.isfinite(o.astype(np.float32))) for o in outs if o.dtype.kind == "f")


def test_fp32_preset_leaves_outputs_unchanged():
    m = conv_net()
    feeds = random_inputs(m)
    ref = make_session(to_bytes(m)).run(None, feeds)[0]
    got = make_session(Simulator(to_bytes(m)).simulate(PRESETS["fp32"])).run(None, feeds)[0]
    np.testing.assert_array_equal(got, ref)


def test_weight_cache_is_bounded_by_entries_and_counts_requantizations():
    """Two entries for conv_net's three weights: every build evicts, so every weight is quantized again."""
    sim = Simulator(to_bytes(conv_net()), rand((4, 3, 8, 8), 9), weight_cache_entries=2)
    sim.simulate(PRESETS["w8a8"])
    assert sim.weight_quantizations == 3 and len(sim._weights) == 2 and sim._weights.evictions == 1
    sim.simulate(PRESETS["w8a8"])
    assert sim.weight_quantizations == 6


def test_weight_cache_is_bounded_by_bytes():
    sim = Simulator(to_bytes(conv_net()), rand((4, 3, 8, 8), 9), weight_cache_bytes=1)
    data = sim.simulate(PRESETS["w8a8"])
    assert len(sim._weights) == 1 and sim._weights.evictions == 2  # only the newest is kept
    assert sim.simulate(PRESETS["w8a8"]) == data  # same numbers after eviction


@pytest.mark.parametrize(
    "sizes, kept",
    [
        ((10, 10, 10), ["b", "c"]),  # 30 > 25 bytes: the oldest goes
        ((40,), ["a"]),  # the newest stays even alone above the budget
    ],
    ids=["over-budget", "single-oversized"],
)
def test_byte_lru_evicts_least_recently_used(sizes, kept):
    cache = ByteLRU(max_bytes=25, max_entries=8)
    for key, n in zip("abc", sizes, strict=False):  # only as many keys as sizes: "abc" is cut short on purpose
        cache.put(key, np.zeros(n, np.uint8))
    assert [k for k in "abc" if k in cache] == kept and cache.nbytes == sum(sizes[-len(kept) :])


def test_byte_lru_get_refreshes_recency():
    cache = ByteLRU(max_bytes=100, max_entries=2)
    cache.put("a", np.zeros(1))
    cache.put("b", np.zeros(1))
    cache.get("a")
    cache.put("c", np.zeros(1))
    assert "a" in cache and "b" not in cache and cache.evictions == 1
