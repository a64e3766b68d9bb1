"""The Tune page's first view on a deep real model: headline evaluation and the per-layer error table.

    python bench/bench_layer_errors.py /work/real_models/light_densenet121.onnx --photos PHOTOS [--old]

In one process: the model loaded (normalized) with --max-model-mb 400, its data an image folder
(ImageNet preprocessing), w8a8 calibrated on the same images. Reported as ratios against one full
float pass (the median of 3 passes through a pre-built session, measured in the same run):
  evaluate       the headline numbers, cold (new Simulator: calibration, sessions, passes)
  layer_errors   local + propagated error of every layer (error_sums.py: one pass of the float
                 model, the config and each layer alone, summed inside the graph)
  --old          the local errors as they were computed before: one suffix of the model per
                 layer (Runner.outputs of a one-layer config, as layer_errors still does for a
                 layer it cannot copy)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.bench_real_models import photo_folder  # noqa: E402
from bench.common import machine, write_section  # noqa: E402

SECTION = "## Tune: the per-layer error table of a deep model"
NOTES = """Notes:
- layer_errors runs one session whatever the depth: the float model, the whole config and every
  quantized layer alone (its simulated nodes fed the float tensors), side by side in one graph that
  also sums each error in float64 (qviz/evaluate/error_sums.py): only 5 scalars per layer and
  comparison come out, no layer output is held. Before, each layer's local error ran the model's
  suffix from that layer, fetching every layer output (169 s for this model in an upload's worker;
  `--old` measured the local errors alone at 456 s, 102 x a float pass, in a run beside other
  benchmarks on 2026-12-06), and the numpy metrics took half of what remained.
- The Tune page shows the headline numbers first; the chart follows at once for a small model and on
  a toggle for a model whose passes hold more than 1e10 multiply-adds (qviz/ui/scoring.py).
"""


def float_pass_s(runner) -> float:
    from qviz.model import make_session

    sess = make_session(runner.sim.loaded.model.SerializeToString(), check=False)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        [sess.run(None, f) for f in runner.data.feeds]
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def old_local_errors(runner, config) -> float:
    """Seconds of the old way: each layer's one-layer config through its own suffix session."""
    from qviz.evaluate.layer_error import only_layer

    t = time.perf_counter()
    for x in runner.layers:
        if x.outputs:
            runner.outputs(only_layer(config, x.id), [x.outputs[0]])
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("--photos", type=Path, required=True)
    ap.add_argument("--old", action="store_true", help="also time the old per-layer suffix runs")
    ap.add_argument("--write-docs", action="store_true", help="write the table to docs/benchmarks.md")
    args = ap.parse_args()

    from qviz.config import PRESETS
    from qviz.evaluate import evaluate, from_arrays, layer_errors, make_runner
    from qviz.evaluate.session_cache import Runner
    from qviz.model import load_model
    from qviz.model.load.data_files import read_data_path

    loaded = load_model(args.model, max_bytes=400 * 2**20)
    with tempfile.TemporaryDirectory() as tmp:
        folder = photo_folder(args.photos, Path(tmp) / "photos")
        x = read_data_path(folder, loaded.inputs, preprocess="imagenet").data.x
    data = from_arrays(loaded, x)
    config = PRESETS["w8a8"]
    t = time.perf_counter()
    runner = make_runner(loaded, data, calib=x)
    evaluate(runner, config)
    cold = time.perf_counter() - t
    t = time.perf_counter()
    df = layer_errors(runner, config)
    errors_s = time.perf_counter() - t
    ref = float_pass_s(runner)
    rows = [("evaluate: the headline numbers, cold", cold), (f"layer_errors: every layer ({len(df)} rows)", errors_s)]
    if args.old:
        small = Runner(runner.sim, runner.data.head(32), memory_budget_bytes=runner.memory_budget_bytes)
        rows.append(
            ("before: the local errors alone, one suffix of the model per layer", old_local_errors(small, config))
        )
    lines = [
        SECTION,
        "",
        f"Machine: {machine()}.",
        "",
        f"Command: `python bench/bench_layer_errors.py {args.model.name} --photos PHOTOS{' --old' if args.old else ''}` "
        f"({len(runner.layers)} layers, {data.n} photos, ImageNet preprocessing, w8a8 calibrated on them; one process, "
        f"other benchmarks running beside it). Reference: one float pass of the photos, {ref:.2f} s.",
        "",
        "| what | seconds | / float pass |",
        "|---|---|---|",
        *(f"| {what} | {sec:.1f} | **{sec / ref:.1f}** |" for what, sec in rows),
    ]
    text = "\n".join(lines) + "\n\n" + NOTES
    print(text)
    if args.write_docs:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
