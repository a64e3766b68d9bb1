"""Benchmark: load + layer table + per-layer weight statistics of a generated 100M-parameter model.

    python bench/bench_model_load.py              # prints the table, rewrites its section of docs/benchmarks.md
    python bench/bench_model_load.py --layers 4   # a quick smaller run (does not write the doc)

The model is LAYERS stacked Gemm layers of WIDTH x WIDTH float32 weights (25 x 2000^2 = 100M
parameters, 400 MB), written to a temporary file. Every measurement runs in a fresh child
process so the peak resident set (VmHWM) belongs to that measurement alone; peak extra
memory = peak RSS - RSS after imports, in units of the weights' size (target <= 3).

Contenders, interleaved run by run:
    qviz       load_model(path) -> layer_table -> weight_stats           (target <= 10 s)
    reference  onnx.load(path) -> numpy_helper.to_array for every initializer -> min/max/mean/std
               (what a straightforward loader does, without any safety checks)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench.common (qviz itself is imported in child processes)
from bench.common import machine, write_section  # noqa: E402

SECTION = "## Model loading"


def build_model_file(path: Path, layers: int, width: int) -> int:
    """Write the stacked-Gemm model to `path`; returns the weights' size in bytes."""
    from onnx import TensorProto, helper

    rng = np.random.default_rng(0)
    nodes, inits, prev, nbytes = [], [], "x", 0
    for i in range(layers):
        out = "y" if i == layers - 1 else f"h{i}"
        nodes.append(helper.make_node("Gemm", [prev, f"fc{i}.weight", f"fc{i}.bias"], [out], name=f"fc{i}", transB=1))
        w = rng.standard_normal((width, width), dtype=np.float32)
        inits.append(helper.make_tensor(f"fc{i}.weight", TensorProto.FLOAT, w.shape, w.tobytes(), raw=True))
        inits.append(
            helper.make_tensor(
                f"fc{i}.bias", TensorProto.FLOAT, [width], np.zeros(width, np.float32).tobytes(), raw=True
            )
        )
        nbytes += w.nbytes + 4 * width
        prev = out
        del w
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", width])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", width])
    graph = helper.make_graph(nodes, "gemm_stack", [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    path.write_bytes(model.SerializeToString())
    return nbytes


# NOTE: ru_maxrss survives fork+exec on Linux (a child starts with its parent's peak), so the
# children read VmHWM, the peak RSS of their own address space, from /proc/self/status.
PEAK_RSS = """
def peak_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
"""

CHILD_QVIZ = (
    PEAK_RSS
    + """
import json, sys, time
sys.path.insert(0, {root!r})
from qviz.model import load_model, layer_table, weight_stats
base = peak_kib()
t0 = time.perf_counter()
loaded = load_model({path!r}, max_bytes=2**31)
t1 = time.perf_counter()
layers = layer_table(loaded)
t2 = time.perf_counter()
stats = weight_stats(loaded, layers)
t3 = time.perf_counter()
peak = peak_kib()
assert len(layers) == {layers} and len(stats) == {layers}
print(json.dumps(dict(total=t3 - t0, load=t1 - t0, table=t2 - t1, stats=t3 - t2, extra_kib=peak - base)))
"""
)

CHILD_REFERENCE = (
    PEAK_RSS
    + """
import json, sys, time
import numpy as np, onnx
from onnx import numpy_helper
base = peak_kib()
t0 = time.perf_counter()
model = onnx.load({path!r})
arrays = {{t.name: numpy_helper.to_array(t) for t in model.graph.initializer}}
stats = [(a.min(), a.max(), a.mean(dtype=np.float64), a.std(dtype=np.float64)) for a in arrays.values()]
t1 = time.perf_counter()
peak = peak_kib()
print(json.dumps(dict(total=t1 - t0, extra_kib=peak - base)))
"""
)


def run_child(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(path: Path, layers: int, runs: int) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {"qviz": [], "reference": []}
    for _ in range(runs):
        results["qviz"].append(run_child(CHILD_QVIZ.format(root=str(ROOT), path=str(path), layers=layers)))
        results["reference"].append(run_child(CHILD_REFERENCE.format(path=str(path))))
    return results


def median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def report(results: dict, weight_bytes: int, layers: int, width: int, file_bytes: int, runs: int) -> str:
    q, r = results["qviz"], results["reference"]
    mem = lambda rows: median(rows, "extra_kib") * 1024 / weight_bytes  # noqa: E731
    lines = [
        SECTION,
        "",
        f"Machine: {machine()}.",
        "",
        f"Command: `python bench/bench_model_load.py` — {layers} stacked Gemm layers of {width} x {width} float32 "
        f"({layers * width * width / 1e6:.0f}M parameters, weights {weight_bytes / 2**20:.0f} MiB, file {file_bytes / 2**20:.0f} MiB), "
        f"median of {runs} runs, each in a fresh process (peak memory = growth of the peak RSS, VmHWM, after imports, "
        "in units of the weights' size). The reference is `onnx.load` + `numpy_helper.to_array` of every "
        "initializer + min/max/mean/std, with no safety checks, measured in the same run.",
        "",
        "| contender | total s | load s | layer table s | weight stats s | peak extra memory / weights | time / reference |",
        "|---|---|---|---|---|---|---|",
        f"| qviz | {median(q, 'total'):.2f} | {median(q, 'load'):.2f} | {median(q, 'table'):.3f} | {median(q, 'stats'):.2f} "
        f"| {mem(q):.2f} | {median(q, 'total') / median(r, 'total'):.2f} |",
        f"| reference | {median(r, 'total'):.2f} | - | - | - | {mem(r):.2f} | 1.00 |",
        "",
        f"Targets: total <= 10 s ({'met' if median(q, 'total') <= 10 else 'MISSED'}), "
        f"peak memory <= 3x the weights ({'met' if mem(q) <= 3 else 'MISSED'}).",
    ]
    return "\n".join(lines)


NOTES = """
How to read it:

- Memory: the file's bytes (1x) and the parsed protobuf (1x) are alive together, the
  weights are decoded one at a time (`WeightStore` does not cache), so the peak is about 2x
  plus one layer's temporaries. The default size cap of `load_model` is 200 MiB, so this
  400 MiB model needs `max_bytes` raised, as the benchmark does.
- Load time is protobuf parsing plus the safety walk plus one NaN/Inf pass over every
  float weight (to flag them); the layer table runs onnx shape inference on a copy without
  large weights, so it does not grow with the weights' size.
- Absolute times drift on this shared machine; compare the ratio to the reference.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=25)
    parser.add_argument("--width", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gemm_stack.onnx"
        t0 = time.perf_counter()
        weight_bytes = build_model_file(path, args.layers, args.width)
        print(f"built {path.stat().st_size / 2**20:.0f} MiB in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        results = measure(path, args.layers, args.runs)
        table = report(results, weight_bytes, args.layers, args.width, path.stat().st_size, args.runs)
    print(table)
    if (args.layers, args.width) == (25, 2000):
        write_section(SECTION, table + "\n" + NOTES)


if __name__ == "__main__":
    main()
