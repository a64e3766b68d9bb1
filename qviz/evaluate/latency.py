"""Latency of a config: median and p90 of one inference, on what onnxruntime really runs.

    >>> from qviz.config import PRESETS
    >>> from qviz.model import load_model
    >>> from qviz.model.simulate.simulator import Simulator
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_mlp")
    >>> sim = Simulator(load_model(sample.model_bytes), sample.calibration.x)
    >>> feed = {"input": sample.test.x[:1]}
    >>> lat = config_latency(sim, PRESETS["w8a8"], feed)       # lat.median_ms, lat.p90_ms: the times
    >>> lat.model, lat.native_speedup, lat.note
    ('deployed', True, '3 of 3 layers run integer kernels')
    >>> config_latency(sim, PRESETS["w4g32"], feed).note      # weight-only int4 Gemm: dequantized, then float
    '0 of 3 layers run integer kernels (float fallback)'

Rules: `warmup` runs are discarded, then `runs` timed runs of one feed (perf_counter);
threads fixed (default 1) and `session.intra_op.allow_spinning` off (qviz.model.runtime.session).
A config with a native onnxruntime form is deployed (qviz.model.deploy.deployable) and timed; one
without (3-bit, k-means, log, float8, dynamic activations...) has no native speed-up: its
simulated model is timed instead and `native_speedup` is False with the reason in `note`.
A deployed model whose layers all run in float (e.g. weight-only int8 Conv) also gets
native_speedup False ("float fallback").
"""

from __future__ import annotations

import numpy as np

from qviz.config import ModelConfig
from qviz.evaluate.results import Latency
from qviz.model.deploy.deployable import deploy, deployable
from qviz.model.deploy.kernels import integer_ops_report
from qviz.model.runtime.executor import LOCAL

RUNS, WARMUP = 50, 5


def measure(
    model_bytes: bytes, feed: dict, *, runs: int = RUNS, warmup: int = WARMUP, threads: int = 1, executor=LOCAL
) -> tuple[float, float]:
    """(median ms, p90 ms) of `runs` timed runs after `warmup` untimed ones, where `executor`
    runs sessions (an upload's: its isolated worker)."""
    times = executor.measure(model_bytes, feed, runs=runs, warmup=warmup, threads=threads)
    return float(np.median(times)), float(np.percentile(times, 90))


def config_latency(
    sim, config: ModelConfig, feed: dict, *, runs: int = RUNS, warmup: int = WARMUP, threads: int = 1
) -> Latency:
    """Latency of `config` (module doc): deployed when possible, else simulated and flagged."""
    batch = len(next(iter(feed.values())))
    layers = [x for x in sim.layers if not x.quantized]
    if all(config.for_layer(x.id).is_float for x in layers):
        med, p90 = measure(
            sim.loaded.model_bytes, feed, runs=runs, warmup=warmup, threads=threads, executor=sim.loaded.executor
        )
        return Latency(med, p90, runs, threads, batch, "float", False, "the float model")
    problems = deployable(config, sim.layers, sim.loaded.weights)
    if problems:
        med, p90 = measure(
            sim.simulate(config), feed, runs=runs, warmup=warmup, threads=threads, executor=sim.loaded.executor
        )
        note = f"no native form for {len(problems)} layer(s), e.g. {problems[0]}: the simulated model was timed"
        return Latency(med, p90, runs, threads, batch, "simulated", False, note)
    data = deploy(sim.loaded, config, simulator=sim)
    med, p90 = measure(data, feed, runs=runs, warmup=warmup, threads=threads, executor=sim.loaded.executor)
    kernels = integer_ops_report(data, sim.loaded.executor)
    n_int = sum(v == "integer" for v in kernels.values())
    note = f"{n_int} of {len(kernels)} layers run integer kernels" + ("" if n_int else " (float fallback)")
    return Latency(med, p90, runs, threads, batch, "deployed", n_int > 0, note)
