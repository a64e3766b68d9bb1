"""evaluate: one config on one dataset -> accuracy (with labels), fidelity, size, optional latency.

    >>> from qviz.config import PRESETS
    >>> from qviz.evaluate import from_sample
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_cnn")
    >>> ev = evaluate(sample.model_bytes, PRESETS["w8a8"], from_sample(sample, "test"), calib=sample.calibration.x)
    >>> ev.float_accuracy, ev.accuracy, ev.fidelity["agreement"]    # int8 changes no prediction here
    (0.9833333333333333, 0.9833333333333333, 1.0)
    >>> round(ev.fidelity["sqnr_db"]), round(ev.size.bits_per_weight, 2)   # per-channel scales cost the 0.15
    (40, 8.15)
    >>> ev.confusion.shape          # float vs quantized predictions; ev.per_class: a DataFrame by class
    (10, 10)

`model` may be a LoadedModel, bytes, a path, a Simulator (its calibration is used) or a
Runner (its Simulator and data are used, and its sessions reused: pass the same Runner to
evaluate many configs cheaply). Without labels, accuracy fields are None and the fidelity
metrics (qviz.evaluate.fidelity) are the whole answer.
"""

from __future__ import annotations

import time

from qviz.config import ModelConfig
from qviz.evaluate.accuracy import confusion, per_class, predictions, top1
from qviz.evaluate.data import EvalData, as_data
from qviz.evaluate.fidelity import fidelity_all
from qviz.evaluate.latency import config_latency
from qviz.evaluate.results import Evaluation
from qviz.evaluate.session_cache import Runner
from qviz.evaluate.size import weight_size
from qviz.model.simulate.simulator import Simulator


def make_runner(model, data=None, *, calib=None) -> Runner:
    """A Runner (Simulator + data + session caches) from any accepted model and data."""
    if isinstance(model, Runner):
        return model
    sim = model if isinstance(model, Simulator) else Simulator(model, calib)
    return Runner(sim, as_data(sim.loaded, data))


def evaluate(
    model,
    config: ModelConfig,
    data: EvalData | None = None,
    *,
    calib=None,
    simulator: Simulator | None = None,
    runner: Runner | None = None,
    latency: bool = False,
    latency_runs: int = 50,
) -> Evaluation:
    """Evaluate `config` (module doc). `latency=True` also times it (latency.config_latency)."""
    t = time.perf_counter()
    runner = runner or make_runner(simulator or model, data, calib=calib)
    outs, fouts = runner.outputs(config), runner.float_outputs()
    pf, pq, y = predictions(fouts[0]), predictions(outs[0]), runner.data.labels
    sim = runner.sim
    lat = config_latency(sim, config, runner.data.feeds[0], runs=latency_runs) if latency else None
    return Evaluation(
        config=config.to_dict(),
        n=runner.data.n,
        source=runner.data.source,
        accuracy=top1(pq, y) if y is not None else None,
        float_accuracy=top1(pf, y) if y is not None else None,
        fidelity=fidelity_all(fouts, outs),
        size=weight_size(sim.layers, sim.loaded.weights, config),
        per_class=per_class(pf, pq, y) if y is not None else None,
        confusion=confusion(pf, pq, _n_classes(fouts[0])),
        latency=lat,
        seconds=time.perf_counter() - t,
    )


def _n_classes(logits) -> int | None:
    return int(logits.shape[-1]) if logits.ndim >= 2 else None
