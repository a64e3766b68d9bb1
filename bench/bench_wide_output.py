"""`qviz evaluate --json` on a 6625-class model: everything listed (the old behaviour) vs the bounded default.

A synthetic classifier x[N, 32] -> MatMul -> y[N, 6625] (an OCR recognizer's class count), 256
labeled samples, w8a8. Reference: evaluate(confusion=True) + json.dumps(to_dict(per_class=True),
indent=2), what every `evaluate --json` did before the C x C confusion was bounded; measured: the
default (no confusion above 100 classes, per-class table left out of the JSON). Median of RUNS, in
this process. Writes the "## Wide outputs" section of docs/benchmarks.md.

    python bench/bench_wide_output.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from onnx import helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, write_section
from qviz.config import PRESETS
from qviz.evaluate import evaluate, from_arrays, make_runner
from qviz.model.simulate.simulator import Simulator
from qviz_dev import model_factory as mf

CLASSES, N, RUNS = 6625, 256, 3


def model_bytes() -> bytes:
    w = mf.rand((32, CLASSES), 1)
    node = helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")
    m = mf.make_model([node], [mf.vinfo("x", ["N", 32])], [mf.vinfo("y", ["N", CLASSES])], [mf.init("w", w)])
    return mf.to_bytes(m)


def timed(runner, listed: bool) -> tuple[float, float, int]:
    """(evaluate s, JSON s, JSON bytes) of one `evaluate --json` (listed: confusion and per-class too)."""
    t0 = time.perf_counter()
    ev = evaluate(runner, PRESETS["w8a8"], confusion=True if listed else None)
    t1 = time.perf_counter()
    text = json.dumps(ev.to_dict(per_class=True if listed else None), indent=2, allow_nan=False)
    return t1 - t0, time.perf_counter() - t1, len(text)


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, 32)).astype(np.float32)
    data = model_bytes()
    runner = make_runner(Simulator(data, x), from_arrays(data, x, rng.integers(0, CLASSES, N)))
    evaluate(runner, PRESETS["w8a8"], confusion=False)  # warm: sessions built, calibration done
    rows = {}
    for listed in (True, False):
        runs = [timed(runner, listed) for _ in range(RUNS)]
        rows[listed] = [statistics.median(r[i] for r in runs) for i in range(3)]
    (ea, ja, ba), (eb, jb, bb) = rows[True], rows[False]
    text = f"""## Wide outputs

Machine: {machine()}.

Command: `python bench/bench_wide_output.py`: `evaluate --json` work (evaluate + JSON text) on a
synthetic {CLASSES}-class classifier, {N} labeled samples, w8a8; median of {RUNS} runs in one process.
Reference: the confusion ({CLASSES} x {CLASSES}) and the per-class table built and printed, as every
`evaluate --json` did before; now they are built and listed only up to 100 classes (or when asked:
`--per-class`).

| | evaluate s | JSON s | JSON bytes | total / reference |
|---|---|---|---|---|
| reference: confusion + per-class listed | {ea:.2f} | {ja:.2f} | {ba:,} | 1.000 |
| default: bounded | {eb:.3f} | {jb:.4f} | {bb:,} | **{(eb + jb) / (ea + ja):.4f}** |
"""
    write_section("## Wide outputs", text)
    print(text)


if __name__ == "__main__":
    main()
