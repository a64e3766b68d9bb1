"""evaluate: one config on one dataset -> accuracy (with labels), fidelity, size, optional latency.

    >>> from qviz.config import PRESETS
    >>> from qviz.evaluate import from_sample
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_cnn")
    >>> ev = evaluate(sample.model_bytes, PRESETS["w8a8"], from_sample(sample, "test"), calib=sample.calibration.x)
    >>> ev.float_accuracy, ev.accuracy, ev.fidelity["agreement"]    # int8 changes no prediction here
    (0.9833333333333333, 0.9833333333333333, 1.0)
    >>> round(ev.fidelity["sqnr_db"]), round(ev.size.bits_per_weight, 2)   # per-channel scales cost the 0.15
    (38, 8.15)
    >>> ev.confusion.shape          # float vs quantized predictions; ev.per_class: a DataFrame by class
    (10, 10)
    >>> ev.measure                  # what was compared (output_kind.py: classes, binary or values)
    "output 'logits': classes = argmax over axis 1; KL after a softmax of the logits"

`model` may be a LoadedModel, bytes, a path, a Simulator (its calibration is used) or a
Runner (its Simulator and data are used, and its sessions reused: pass the same Runner to
evaluate many configs cheaply). Without labels, accuracy fields are None and the fidelity
metrics (qviz.evaluate.fidelity) are the whole answer.
"""

from __future__ import annotations

import time

from qviz.config import ModelConfig
from qviz.evaluate.accuracy import decision_metrics
from qviz.evaluate.data import EvalData, as_data
from qviz.evaluate.fidelity import fidelity_all
from qviz.evaluate.latency import config_latency
from qviz.evaluate.output_kind import OutputKind, decide_all
from qviz.evaluate.results import Evaluation
from qviz.evaluate.session_cache import Runner
from qviz.evaluate.size import weight_size
from qviz.model.simulate.simulator import Simulator


def make_runner(model, data=None, *, calib=None, output_kind=None, memory_budget_bytes=None) -> Runner:
    """A Runner (Simulator + data + session caches) from any accepted model and data;
    `output_kind` (output_kind.py) is how its outputs are compared, `memory_budget_bytes` how
    much of its tensors it keeps (session_cache.py; default 1 GiB); a Runner given keeps its own."""
    if isinstance(model, Runner):
        return model
    sim = model if isinstance(model, Simulator) else Simulator(model, calib)
    return Runner(sim, as_data(sim.loaded, data), output_kind=output_kind, memory_budget_bytes=memory_budget_bytes)


def output_kinds(runner: Runner, fouts, output_kind=None) -> list[OutputKind]:
    """How each output is compared: `output_kind` if given, else the Runner's, else decided from
    the float outputs `fouts` (output_kind.decide_all)."""
    given = output_kind if output_kind is not None else getattr(runner, "output_kind", None)
    return decide_all(runner.output_names, fouts, given)


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
    output_kind=None,
    confusion: bool | None = None,
) -> Evaluation:
    """Evaluate `config` (module doc). `latency=True` also times it (latency.config_latency);
    `output_kind` overrides how outputs are compared (output_kind.py); `confusion` None builds the
    [C, C] confusion up to accuracy.MAX_LISTED_CLASSES classes, True always, False never."""
    t = time.perf_counter()
    runner = runner or make_runner(simulator or model, data, calib=calib)
    outs, fouts = runner.outputs(config), runner.float_outputs()
    kinds = output_kinds(runner, fouts, output_kind)
    sim = runner.sim
    lat = config_latency(sim, config, runner.data.feeds[0], runs=latency_runs) if latency else None
    metrics = decision_metrics(kinds, fouts, outs, runner.data.labels, confusion)
    metrics["notes"] = [*metrics["notes"], *sim.config_notes(config)]  # e.g. already-quantized layers left as they are
    return Evaluation(
        config=config.to_dict(),
        n=runner.data.n,
        source=runner.data.source,
        fidelity=fidelity_all(fouts, outs, kinds),
        size=weight_size(sim.layers, sim.loaded.weights, config),
        latency=lat,
        seconds=time.perf_counter() - t,
        output_kinds=kinds,
        **metrics,
    )
