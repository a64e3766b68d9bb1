"""The speed_profile worker task: an upload's deployed model profiled in a worker, as plain data."""

from __future__ import annotations

from qviz.config import PRESETS
from qviz.model.deploy.deployable import deploy
from qviz.worker import Limits, WorkerPool
from qviz_dev import model_factory as mf


def test_speed_profile_runs_in_a_worker():
    model = mf.to_bytes(mf.mlp())
    x = mf.random_inputs(mf.mlp(), batch=8)
    deployed = deploy(model, PRESETS["w8a8"], next(iter(x.values())), reduce_range=False)
    with WorkerPool(Limits(wall_seconds=60), max_workers=1) as pool:
        report = pool.call("speed_profile", deployed, model, x, 3)
    assert report["int8_ms"] > 0 and report["fp32_ms"] > 0
    assert report["by_op"] and {"op type", "int8 ms", "fp32 ms"} <= set(report["by_op"][0])
    assert set(report["kernels"].values()) <= {"integer", "float fallback", "float"}
    assert (report["explanation"] is None) == (report["speedup"] >= 1.0)
