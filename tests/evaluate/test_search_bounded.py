"""Search cost and honesty: bounded full evaluations, one model's sessions, deployable candidates,
and the best config is the one the explanation table describes."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from qviz.config import PRESETS, ModelConfig
from qviz.evaluate import from_sample, make_runner, search
from qviz.model.deploy.deployable import deploy, deployable
from qviz.model.simulate.simulator import Simulator
from qviz_dev import model_factory as mf


@pytest.fixture(scope="module")
def stack():
    """12 Gemm layers: a search path longer than a few full evaluations can verify."""
    model = mf.gemm_stack(12, 32)
    sim = Simulator(mf.to_bytes(model), mf.random_inputs(model, batch=16, seed=1))
    return sim, mf.random_inputs(model, batch=16, seed=2)["x"]


def test_full_evaluations_are_bounded_and_the_budget_is_still_reached(stack):
    sim, x = stack
    res = search(sim, x, {"bpw": 6.0}, max_evaluations=6)  # 8 -> 6 bits: 6 layers to 4 bits, 18 to verify
    assert len(res.evaluated) <= 6
    assert res.best is not None and res.best["bits_per_weight"] <= 6.0


def _track_sessions(runner, monkeypatch) -> list:
    """Weak references to every session the Runner opens (to count the ones alive)."""
    made: list = []
    executor = runner.sim.loaded.executor
    open_session = executor.session

    def tracked(*args, **kwargs):
        sess = open_session(*args, **kwargs)
        made.append(weakref.ref(sess))
        return sess

    monkeypatch.setattr(executor, "session", tracked)
    return made


def test_full_configs_hold_one_models_sessions_and_the_budget(stack, monkeypatch):
    sim, x = stack
    runner = make_runner(Simulator(sim.loaded, sim.calib), x, memory_budget_bytes=64 * 2**10)
    made = _track_sessions(runner, monkeypatch)
    alive: list[int] = []

    def progress(done, total, label):
        if label.startswith("step"):  # full configs: the sensitivity's sessions are gone
            gc.collect()
            alive.append(sum(r() is not None for r in made))

    search(runner, None, {"bpw": 4.5}, progress=progress)
    assert alive and max(alive) <= len(runner.chain.bounds)  # each segment's + the one being replaced
    assert runner.cache.peak_nbytes <= runner.memory_budget_bytes


def test_best_config_is_the_explained_one(digits_mlp):
    sample = digits_mlp.sample
    sim = Simulator(sample.model_bytes, np.asarray(sample.calibration.x))
    data = from_sample(sample, "calibration")
    for bpw in (3.0, 4.5, 6.0):
        res = search(sim, data, {"bpw": bpw}, candidates=(8, 4, 2), simulation_only=True)
        assert res.best is not None
        explained = dict(zip(res.explanation["layer"], res.explanation["candidate"], strict=True))
        assert explained == res.best["assignment"], bpw


def test_simulation_only_candidates_are_asked_for_and_named(digits_mlp):
    sample = digits_mlp.sample
    sim = Simulator(sample.model_bytes, np.asarray(sample.calibration.x))
    data = from_sample(sample, "calibration")
    res = search(sim, data, {"bpw": 3.5})  # default bits 8, 6, 4, 3, 2: only w8 and w4 ship
    assert set(res.explanation["candidate"]) <= {"w8", "w4"}
    assert all(res.explanation["not_searched"].str.startswith("w6, w3, w2: onnxruntime has int4 and int8"))
    sim_only = search(sim, data, {"bpw": 3.5}, simulation_only=True)
    low = sim_only.explanation[sim_only.explanation["candidate"].isin(["w6", "w3", "w2"])]
    assert not low.empty and all(low["simulation_only"].str.contains("onnxruntime"))


@pytest.mark.parametrize("sample_id", ["digits_cnn", "digits_mobilenet"])
@pytest.mark.parametrize("base", ["float", "w8a8"])
def test_search_result_deploys(bundled, sample_id, base):
    sample = bundled(sample_id).sample
    calib = np.asarray(sample.calibration.x)
    sim = Simulator(sample.model_bytes, calib)
    res = search(sim, from_sample(sample, "calibration"), {"bpw": 5.0}, base=PRESETS[base] if base != "float" else None)
    config = res.best_config
    assert config is not None and isinstance(config, ModelConfig)
    assert deployable(config, sim.layers) == []
    assert len(deploy(sim.loaded, config, calib, simulator=sim)) > 0
