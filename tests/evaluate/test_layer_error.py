"""Per-layer error: local (only that layer) and propagated (whole config), against collected float/quantized tensors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qviz.config import PRESETS, ModelConfig
from qviz.evaluate import from_arrays, layer_errors
from qviz.evaluate.layer_error import only_layer
from qviz.model.simulate.calibrate import collect_tensors
from qviz.model.simulate.simulator import Simulator
from qviz.quant.metrics import summary
from qviz_dev import model_factory as mf


def _setup(name="conv_net", n=10):
    model = mf.ALL_GOOD[name]()
    sim = Simulator(mf.to_bytes(model), mf.random_inputs(model, batch=n, seed=4))
    return sim, from_arrays(sim.loaded, mf.random_inputs(model, batch=n, seed=5))


def _tensors(proto, names, data):
    return collect_tensors(proto, names, data.feeds)


@pytest.mark.parametrize("name", ["conv_net", "mlp"], ids=str)
def test_local_and_propagated_match_collected_tensors(name):
    sim, data = _setup(name)
    cfg = PRESETS["w4a8"]
    df = layer_errors(sim, cfg, data)
    layers = [x for x in sim.layers if not x.quantized]
    names = [x.outputs[0] for x in layers]
    ref = _tensors(sim.proto, names, data)
    full = _tensors(sim.build(cfg), names, data)
    for row, layer in zip(df.to_dict("records"), layers, strict=True):
        out = layer.outputs[0]
        local = _tensors(sim.build(only_layer(cfg, layer.id)), [out], data)[out]
        assert row["local_sqnr_db"] == pytest.approx(summary(ref[out], local)["sqnr_db"], rel=1e-4)
        assert row["propagated_sqnr_db"] == pytest.approx(summary(ref[out], full[out])["sqnr_db"], rel=1e-4)
    first = df.iloc[0]
    assert first["local_sqnr_db"] == pytest.approx(first["propagated_sqnr_db"], rel=1e-4)


def test_float_layers_and_error_birth():
    sim, data = _setup("conv_net")
    layers = [x.id for x in sim.layers]
    cfg = ModelConfig().with_layer(layers[1], PRESETS["w8a8"].default)
    df = layer_errors(sim, cfg, data).set_index("layer")
    assert df.loc[layers[0], "propagated_sqnr_db"] == math.inf and df.loc[layers[0], "local_sqnr_db"] == math.inf
    assert not df.loc[layers[0], "quantized"] and df.loc[layers[1], "quantized"]
    assert df.loc[layers[1], "local_sqnr_db"] == pytest.approx(df.loc[layers[1], "propagated_sqnr_db"])
    assert np.isfinite(df.loc[layers[2], "propagated_sqnr_db"]) and df.loc[layers[2], "local_sqnr_db"] == math.inf


def test_max_samples_progress_and_cancel():
    sim, data = _setup("conv_net", n=20)
    seen = []
    df = layer_errors(sim, PRESETS["w8"], data, max_samples=4, progress=lambda d, t, label: seen.append((d, t)))
    assert len(df) == 3 and seen == [(1, 3), (2, 3), (3, 3)]
    assert layer_errors(sim, PRESETS["w8"], data, cancel=lambda: True).empty
