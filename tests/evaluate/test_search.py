"""Mixed-precision search: budget met, every evaluation kept, Pareto front, explanation, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qviz.config import ModelConfig
from qviz.evaluate import Budget, evaluate, from_sample, pareto_front, search, weight_candidate, weight_size
from qviz.model.simulate.simulator import Simulator
from qviz.quant import SpecError
from qviz_dev import model_factory as mf


@pytest.fixture(scope="module")
def digits(digits_mlp):
    sample = digits_mlp.sample
    return Simulator(sample.model_bytes, np.asarray(sample.calibration.x)), from_sample(sample, "calibration")


def _w8_bytes(sim):
    return weight_size(sim.layers, sim.loaded.weights, ModelConfig(default=weight_candidate(8))).weight_bytes


def test_search_meets_bytes_budget(digits):
    sim, data = digits
    budget = int(0.55 * _w8_bytes(sim))
    res = search(sim, data, Budget("bytes", budget), candidates=None)
    best = res.best_config
    assert res.best["weight_bytes"] <= budget
    assert weight_size(sim.layers, sim.loaded.weights, best).weight_bytes == res.best["weight_bytes"]
    ev = evaluate(sim, best, data)
    assert ev.accuracy == pytest.approx(res.best["accuracy"])
    assert len(res.evaluated) >= len(res.evaluated[res.evaluated["on_path"]]) > 1
    assert set(res.explanation["layer"]) == {x.id for x in sim.layers}
    assert all(res.explanation["why"].str.len() > 0)
    json.dumps(res.to_dict(), allow_nan=False)


def test_search_is_deterministic(digits):
    sim, data = digits
    a = search(sim, data, {"bpw": 5.0})
    b = search(sim, data, {"bpw": 5.0})
    assert list(a.evaluated["config"]) == list(b.evaluated["config"]) and a.best["config"] == b.best["config"]
    assert a.best["bits_per_weight"] <= 5.0


def test_front_is_non_dominated(digits):
    sim, data = digits
    res = search(sim, data, {"bpw": 3.0})
    front, ev = res.front, res.evaluated
    for f in front.to_dict("records"):
        better = ev[
            (ev["accuracy"] >= f["accuracy"])
            & (ev["weight_bytes"] <= f["weight_bytes"])
            & ((ev["accuracy"] > f["accuracy"]) | (ev["weight_bytes"] < f["weight_bytes"]))
        ]
        assert better.empty
    assert len(pareto_front(ev, "accuracy")) == len(front)


def test_unreachable_budget_and_cancel(digits):
    sim, data = digits
    res = search(sim, data, {"bytes": 10})
    assert res.best is None and len(res.evaluated) > 0
    assert search(sim, data, {"bytes": 10}, cancel=lambda: True).cancelled


def test_latency_budget_measures():
    model = mf.conv_net()
    sim = Simulator(mf.to_bytes(model), mf.random_inputs(model, batch=8, seed=1))
    res = search(sim, mf.random_inputs(model, batch=8, seed=2)["x"], {"latency_ms": 1e6}, latency_runs=2)
    assert res.best is not None and res.best["latency_ms"] > 0 and res.metric == "agreement"


@pytest.mark.parametrize("budget", [{"bytes": -1}, {"watts": 3}, {"bpw": "4"}, {"bytes": 1, "bpw": 2}], ids=str)
def test_bad_budget(budget):
    with pytest.raises(SpecError, match="budget"):
        search(mf.to_bytes(mf.conv_net()), None, budget)


def test_bits_candidates_and_bad_metric(digits):
    sim, data = digits
    res = search(sim, data, {"bpw": 8.5}, candidates=(8, 4))
    assert set(res.explanation["candidate"]) <= {"w8", "w4"}
    with pytest.raises(SpecError, match="metric must be one of"):
        search(sim, data, {"bpw": 4}, proxy="mse")
