"""Evaluation, per-layer sensitivity and mixed-precision search (the model layer: onnx, onnxruntime, pandas).

    from qviz.evaluate import *

    data = from_sample(sample, "test")            # or from_npz(path, model), from_arrays(model, x, y),
                                                  # generated(model, n=64, seed=0) (no labels)
    runner = make_runner(model, data, calib=x)    # Simulator + data + session caches: reuse it

    evaluate(model_or_runner, config, data=None, *, calib=None, simulator=None, runner=None,
             latency=False, output_kind=None, confusion=None) -> Evaluation
                                                  # .accuracy .float_accuracy .per_class .confusion
                                                  # .fidelity {agreement, sqnr_db, cosine, kl} .size .latency
                                                  # .output_kinds .measure: what was compared, and how
    decide(name, x, given=None) -> OutputKind      # classes (a class axis, every position), binary
                                                  # (yes/no), values (no agreement, no KL): output_kind.py
    layer_errors(model, config, data=None, *, calib=None, max_samples=32) -> DataFrame
                                                  # local_* (only that layer) and propagated_* per layer
    weight_size(layers, weights, config) -> SizeReport      # weight_bytes, bits_per_weight, layers
    config_latency(sim, config, feed, *, runs=50, threads=1) -> Latency   # median/p90, deployed or flagged
    sweep(model, data=None, candidates=(8, 4), *, calib=None, metric="accuracy", layers=None,
          progress=None, cancel=None, simulation_only=True) -> SweepResult   # .table layers x candidates
                                                  # (damage), .records; simulation_only=False skips cells that cannot deploy
    search(model, data, budget, *, candidates=None, calib=None, base=None, metric="accuracy",
           proxy="kl", progress=None, cancel=None, max_evaluations=None, simulation_only=False) -> SearchResult
                                                  # .best .best_config .front .evaluated .explanation
    Budget("bytes" | "bpw" | "latency_ms", value)   (or {"bytes": N})

`model` is anything qviz.model accepts (LoadedModel, bytes, path), a Simulator (its
calibration is used) or a Runner. `progress(done, total, label)` is called after each pass;
`cancel` is a threading.Event or a callable returning True. Every result has `to_dict()`
that `json.dumps(..., allow_nan=False)` accepts (infinite SQNR -> "inf").
"""

from qviz.evaluate.accuracy import confusion, per_class, predictions, top1
from qviz.evaluate.candidates import activation_candidate, candidates_from_bits, weight_candidate
from qviz.evaluate.data import EvalData, as_data, from_arrays, from_npz, from_sample, generated
from qviz.evaluate.evaluation import evaluate, make_runner
from qviz.evaluate.fidelity import fidelity, kl_softmax
from qviz.evaluate.latency import config_latency, measure
from qviz.evaluate.layer_error import layer_errors
from qviz.evaluate.output_kind import OutputKind, decide
from qviz.evaluate.pareto import pareto_front, pareto_mask
from qviz.evaluate.results import Evaluation, Latency, SearchResult, SizeReport, SweepResult, jsonable
from qviz.evaluate.search import Budget, default_candidates, search
from qviz.evaluate.session_cache import Runner
from qviz.evaluate.size import layer_sizes, spec_bytes, weight_size
from qviz.evaluate.sweep import damage, sweep

__all__ = [
    "Budget",
    "EvalData",
    "Evaluation",
    "Latency",
    "OutputKind",
    "Runner",
    "SearchResult",
    "SizeReport",
    "SweepResult",
    "activation_candidate",
    "as_data",
    "candidates_from_bits",
    "config_latency",
    "confusion",
    "damage",
    "decide",
    "default_candidates",
    "evaluate",
    "fidelity",
    "from_arrays",
    "from_npz",
    "from_sample",
    "generated",
    "jsonable",
    "kl_softmax",
    "layer_errors",
    "layer_sizes",
    "make_runner",
    "measure",
    "pareto_front",
    "pareto_mask",
    "per_class",
    "predictions",
    "search",
    "spec_bytes",
    "sweep",
    "top1",
    "weight_candidate",
    "weight_size",
]
