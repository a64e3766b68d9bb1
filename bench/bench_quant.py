"""Benchmark: qviz fake_quantize against onnxruntime QuantizeLinear -> DequantizeLinear.

    python bench/bench_quant.py            # prints the table and rewrites its section of docs/benchmarks.md

16M float32 values (a 4096 x 4096 matrix), int8, median of RUNS runs, every contender timed
in the same process and interleaved run by run, so the ratios hold on a noisy shared machine.
Contenders for each granularity (per-tensor, per-channel axis 0, per-group axis 1 block 32/128):

    ort-1t       onnxruntime Q->DQ, one intra-op thread (allow_spinning 0)
    ort-default  onnxruntime Q->DQ, default threads (allow_spinning 0)
    ours-new     fake_quantize(x, ...)                 a fresh output array per call
    ours-out     fake_quantize(x, ..., out=buf)        a preallocated output
    ours-inplace fake_quantize(y, ..., out=y)          in place (y copied before the clock starts)
    naive        the textbook numpy chain (per-tensor only), for reference

Peak extra memory of fake_quantize is measured with tracemalloc (numpy reports its
allocations to it), in units of the tensor's float32 size.
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # qviz, and bench.common
from bench.common import machine, write_section  # noqa: E402
from qviz.quant.affine import fake_quantize  # noqa: E402

SHAPE = (4096, 4096)
RUNS = 11
QMIN, QMAX = -128, 127
SECTION = "## Quantization engine"


def make_params(x: np.ndarray, axis, block_size):
    """Symmetric int8 scales from the absolute max of each group (zero point 0)."""
    if axis is None:
        amax = np.abs(x).max()
    elif block_size is None:
        amax = np.abs(x).max(axis=1 - axis)
    else:
        amax = np.abs(x).reshape(x.shape[0], -1, block_size).max(axis=2)
    scale = (np.maximum(amax, 1e-8) / 127).astype(np.float32)
    return scale, np.zeros(scale.shape, np.int8)


def ort_session(scale, zp, axis, block_size, threads: int) -> ort.InferenceSession:
    attrs = {k: v for k, v in (("axis", axis), ("block_size", block_size)) if v is not None}
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], **attrs),
        helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], **attrs),
    ]
    graph = helper.make_graph(
        nodes,
        "qdq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, SHAPE)],
        [numpy_helper.from_array(scale, "s"), numpy_helper.from_array(zp, "z")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    opts = ort.SessionOptions()
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        opts.intra_op_num_threads = threads
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def naive_chain(x, scale):
    """The textbook one-liner (symmetric, zero point 0): four full-size temporaries."""
    return np.clip(np.rint(x / scale), QMIN, QMAX).astype(np.int8).astype(np.float32) * scale


def contenders(x, scale, zp, axis, block_size, with_naive: bool) -> dict:
    """name -> (setup, run): setup() makes the per-run input outside the clock."""
    zp32 = zp.astype(np.int32)
    out = np.empty_like(x)
    sessions = {
        "ort-1t": ort_session(scale, zp, axis, block_size, 1),
        "ort-default": ort_session(scale, zp, axis, block_size, 0),
    }
    fq = dict(scale=scale, zero_point=zp32, qmin=QMIN, qmax=QMAX, axis=axis, block_size=block_size)
    cases = {name: (lambda: x, lambda a, s=s: s.run(None, {"x": a})) for name, s in sessions.items()}
    cases["ours-new"] = (lambda: x, lambda a: fake_quantize(a, **fq))
    cases["ours-out"] = (lambda: x, lambda a: fake_quantize(a, **fq, out=out))
    cases["ours-inplace"] = (lambda: x.copy(), lambda a: fake_quantize(a, **fq, out=a))
    if with_naive:
        cases["naive"] = (lambda: x, lambda a: naive_chain(a, scale))
    return cases


def time_interleaved(cases: dict, runs: int) -> dict:
    """Median seconds per contender; one run of each per round, so drift hits all alike."""
    times = {name: [] for name in cases}
    for setup, run in cases.values():  # warm-up
        run(setup())
    for _ in range(runs):
        for name, (setup, run) in cases.items():
            arg = setup()
            t0 = time.perf_counter()
            run(arg)
            times[name].append(time.perf_counter() - t0)
            del arg
    return {name: statistics.median(ts) for name, ts in times.items()}


def peak_memory(x, scale, zp, axis, block_size, out=None) -> float:
    """Peak numpy allocation during one fake_quantize, in units of x.nbytes."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    y = fake_quantize(x, scale, zp.astype(np.int32), QMIN, QMAX, axis, block_size, out=out)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del y
    return peak / x.nbytes


GRANULARITIES = [
    ("per-tensor", None, None),
    ("per-channel (axis 0)", 0, None),
    ("per-group 32 (axis 1)", 1, 32),
    ("per-group 128 (axis 1)", 1, 128),
]


def main(runs: int = RUNS, write_doc: bool = True) -> dict:
    """Run everything; returns {granularity: {"times": {...}, "ratios": {...}, "peak_mem": {...}}}."""
    x = np.random.default_rng(0).standard_normal(SHAPE, dtype=np.float32)
    results = {}
    for label, axis, block_size in GRANULARITIES:
        scale, zp = make_params(x, axis, block_size)
        times = time_interleaved(contenders(x, scale, zp, axis, block_size, axis is None), runs)
        ratios = {name: times[name] / times["ort-1t"] for name in times}
        ratios_default = {name: times[name] / times["ort-default"] for name in times}
        peak = {
            "new": peak_memory(x, scale, zp, axis, block_size),
            "out": peak_memory(x, scale, zp, axis, block_size, out=np.empty_like(x)),
        }
        results[label] = {"times": times, "ratios": ratios, "ratios_default": ratios_default, "peak_mem": peak}
        print(f"{label}: " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in times.items()), flush=True)
    table = render(results, runs)
    print(table)
    if write_doc:
        write_section(SECTION, table + "\n" + NOTES)
    return results


def render(results: dict, runs: int) -> str:
    names = ["ours-inplace", "ours-out", "ours-new", "ort-1t", "ort-default", "naive"]
    lines = [
        SECTION,
        "",
        f"Machine: {machine()}.",
        "",
        f"Command: `python bench/bench_quant.py` — 4096 x 4096 float32 (16M values), int8 symmetric, "
        f"quantize -> dequantize, median of {runs} interleaved runs in one process. "
        "Times in ms; the ratio is ours / onnxruntime one-thread (`ort-1t`) measured in the same run "
        "(target <= 1.0), and in brackets ours / onnxruntime default threads. Peak extra memory of "
        "`fake_quantize` (tracemalloc) in units of the tensor's float32 size (target <= 2).",
        "",
        "| granularity | " + " | ".join(names) + " | ratio in place | ratio out= | ratio new | peak mem new / out= |",
        "|---" * (len(names) + 5) + "|",
    ]
    for label, r in results.items():
        t, q, qd, m = r["times"], r["ratios"], r["ratios_default"], r["peak_mem"]
        cells = [f"{t[n] * 1e3:.1f}" if n in t else "-" for n in names]
        ratio = [f"{q[n]:.2f} ({qd[n]:.2f})" for n in ("ours-inplace", "ours-out", "ours-new")]
        lines.append(f"| {label} | " + " | ".join(cells + ratio) + f" | {m['new']:.2f} / {m['out']:.2f} |")
    return "\n".join(lines) + "\n"


# What the numbers mean; written into the section under the table on every run.
NOTES = """How to read it:

- `ort-1t` is the reference. onnxruntime's per-tensor and per-channel Q->DQ are tight
  vectorized C++ (MLAS); its blocked kernel is a much slower loop, which is why every
  per-group ratio is below 1.
- `ours-inplace` is the engine's best case: the tensor crosses the memory bus once each way
  and the four passes (divide, round, clip, multiply) plus a NaN check run on 256K-element
  chunks that stay in cache. It is at the target per-tensor (0.98 and 1.02 in two runs on a
  quiet machine, load average 0.9) and well under it per-group; under load (load average 4-7) the per-tensor ratio drifted
  between 0.73 and 1.25 over six runs.
- `ours-out` writes to a second 64 MB array, so every cache line written is first read
  (read-for-ownership); `ours-new` also page-faults a fresh 64 MB array on every call
  (about +6 ms here). onnxruntime's arena reuses its output buffer across runs, so it pays
  neither. Callers that quantize the same shape repeatedly should pass `out=`. These two
  modes miss the 1.0 target per-tensor and per-channel (see the table).
- per-channel misses the target (1.19 and 1.21 in place in the same two quiet runs): numpy divides by an array
  operand more slowly than by a scalar, and spreading the scale over one reusable chunk buffer
  (the fastest of: broadcast (C, 1), per-row scalar loops, spread buffer; measured 17.0, 35.8 and
  16.0 ms against 13.3 ms for a scalar) still costs one extra in-cache pass. Division by the
  scale (not multiplication by its reciprocal) is kept: it is what makes ties bit-exact with
  onnxruntime.
- Peak extra memory is the output array (1.0 with a new array, ~0 with `out=`) plus one
  chunk: the target (<= 2) holds. quantize() (the full API) also keeps the int32 codes and
  computes the error statistics in float64 (result.make_result): its peak measured about 6.5
  tensor sizes on a 4M-value tensor.
- The machine is shared with other jobs (see the load average): absolute times drift by 2-3x
  between runs; the ratios, interleaved run by run in one process, are what to compare.
"""


if __name__ == "__main__":
    main()
