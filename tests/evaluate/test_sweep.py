"""Sensitivity sweep: cells against evaluate() of one-layer configs, session reuse, progress, cancel."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from qviz.config import ModelConfig
from qviz.evaluate import candidates_from_bits, evaluate, from_arrays, from_sample, make_runner, sweep
from qviz.model.simulate.simulator import Simulator
from qviz.quant import SpecError
from qviz_dev import model_factory as mf


@pytest.fixture(scope="module")
def digits(digits_mlp):
    sample = digits_mlp.sample
    return Simulator(sample.model_bytes, np.asarray(sample.calibration.x)), from_sample(sample, "test")


def test_sweep_cells_match_single_evaluations(digits):
    sim, data = digits
    res = sweep(sim, data, (8, 2))
    ids = [x.id for x in sim.layers]
    assert list(res.table.index) == ids and list(res.table.columns) == ["w8", "w2", "a8", "a2"]
    cands = candidates_from_bits((8, 2))
    for lid in ids:
        for name, lc in cands.items():
            ev = evaluate(sim, ModelConfig().with_layer(lid, lc), data)
            assert res.table.loc[lid, name] == pytest.approx(ev.float_accuracy - ev.accuracy, abs=1e-12)
    # + the float segments streaming each later layer's cut from the one before (session_cache.py)
    assert res.passes == len(ids) * 4 + len(ids) - 1 and res.sessions_built == 2 * len(ids) - 1
    assert set(res.records["mode"]) == {"weights", "activations"}
    json.dumps(res.to_dict(), allow_nan=False)


def test_sweep_progress_and_cancel(digits):
    sim, data = digits
    seen = []
    sweep(sim, data, (8, 4), progress=lambda d, t, label: seen.append((d, t)))
    assert seen == [(i, 12) for i in range(1, 13)]
    stop = threading.Event()

    def progress(done, total, label):
        if done == 2:
            stop.set()

    res = sweep(sim, data, (8, 4), progress=progress, cancel=stop)
    assert res.cancelled and len(res.records) == 2 and res.table.isna().sum().sum() == 10
    assert sweep(sim, data, (8,), cancel=lambda: True).records.empty


def test_sweep_without_labels_uses_agreement_and_metrics():
    model = mf.conv_net()
    data = from_arrays(mf.to_bytes(model), mf.random_inputs(model, batch=8)["x"])
    res = sweep(mf.to_bytes(model), data, (4,))
    assert res.metric == "agreement" and res.baseline["accuracy"] is None
    kl = sweep(make_runner(mf.to_bytes(model), data), None, (2, 8), metric="kl")
    assert (kl.table["w2"] >= kl.table["w8"]).all()
    with pytest.raises(SpecError, match="metric must be one of"):
        sweep(mf.to_bytes(model), data, (4,), metric="f1")
    with pytest.raises(SpecError, match="bits must be integers"):
        sweep(mf.to_bytes(model), data, (1,))


def test_sweep_measures_only_what_ships_unless_asked(digits):
    sim, data = digits
    res = sweep(sim, data, (8, 4, 2), simulation_only=False)
    assert list(res.table.columns) == ["w8", "w4", "a8"]  # w2: no int2 kernel; a4, a2: no 4/2-bit activations
    assert (res.records["simulation_only"] == "").all()
    assert "w2" in res.note and "a4" in res.note and "no deployable form" in res.note
    every = sweep(sim, data, (8, 2))
    marked = every.records.set_index("candidate")["simulation_only"]
    assert (marked[["w2", "a2"]].str.contains("onnxruntime")).all() and (marked[["w8", "a8"]] == "").all()
