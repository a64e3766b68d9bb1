"""Bounded cost: a sensitivity sweep and interactive Tune on a ResNet-50-sized model, memory and time.

    python bench/bench_sweep_memory.py              # prints the table, rewrites its section of docs/benchmarks.md
    python bench/bench_sweep_memory.py --quick      # 8 images, 6 layers swept, does not write the doc
    python bench/bench_sweep_memory.py --tune-only  # part (b) alone, printed

The model has ResNet-50's shapes (53 Conv + 1 Gemm, 25.5 M weights, built with onnx.helper, random
He-scaled weights, no download); the data is 32 seeded random images of 3 x 224 x 224. Each part
runs in a fresh process (the model and images are handed over in files), so its peak RSS
(VmHWM) is its own:

(a) sweep   every layer x {w8, w4} (weight-only, per channel), with the Runner's default 1 GiB budget
            and with 64 MiB (--budget-mb; less than one early layer's cut: those are streamed again
            from the inputs for every cell). Peak RSS of the process (target <= 2 GB), the bytes the
            Runner held (<= its budget) and the time over L x B single full passes, one full pass
            being the median of 3 passes of the data through a pre-built session of a one-layer
            simulated model, measured in the same process after the sweep (target <= 1.3).
(b) tune    evaluate() with one Runner (what the Tune page does on a change): w8a8 everywhere,
            calibrated on the same 32 images, cold (new Simulator: calibration, sessions, every
            pass), then one layer at a time changed to 4-bit weights (the preset's weight spec at
            4 bits, as the Tune table's bits column does) at several depths (target: each <= 2 s;
            only the segments from the changed layer's on run again).
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
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # qviz, and bench.common
from bench.common import machine, write_section  # noqa: E402

SECTION = "## Bounded cost: sweep memory on a ResNet-50-sized model"
IMAGES = 32
STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))  # (width, blocks, stride): ResNet-50
TUNE_DEPTHS = (0, 13, 26, 39, 46, 53)  # layer indices changed one at a time in (b)
MIB = 2**20
SMALL_BUDGET_MB = 64


def resnet50(seed: int = 0):
    """ResNet-50's graph (bottleneck blocks 3-4-6-3, batch norm folded into the convs' biases)."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []

    def conv(x, cin, cout, k, stride=1, relu=True, gain=1.0):
        name = f"conv{len([n for n in nodes if n.op_type == 'Conv']) + 1}"
        w = rng.standard_normal((cout, cin, k, k), dtype=np.float32) * np.float32(gain * np.sqrt(2 / (cin * k * k)))
        b = rng.standard_normal(cout, dtype=np.float32) * np.float32(0.01)
        inits.extend([numpy_helper.from_array(w, f"{name}.weight"), numpy_helper.from_array(b, f"{name}.bias")])
        p = k // 2
        attrs = {"kernel_shape": [k, k], "strides": [stride, stride], "pads": [p, p, p, p]}
        nodes.append(helper.make_node("Conv", [x, f"{name}.weight", f"{name}.bias"], [name], name=name, **attrs))
        if relu:
            nodes.append(helper.make_node("Relu", [name], [f"{name}_relu"]))
        return f"{name}_relu" if relu else name

    x = conv("x", 3, 64, 7, 2)
    nodes.append(helper.make_node("MaxPool", [x], ["pool"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))
    x, cin = "pool", 64
    for stage, (width, blocks, stride) in enumerate(STAGES):
        for b in range(blocks):
            s = stride if b == 0 else 1
            h = conv(conv(conv(x, cin, width, 1), width, width, 3, s), width, 4 * width, 1, relu=False, gain=0.3)
            short = conv(x, cin, 4 * width, 1, s, relu=False) if b == 0 else x
            nodes.append(helper.make_node("Add", [h, short], [f"add{stage}_{b}"]))
            nodes.append(helper.make_node("Relu", [f"add{stage}_{b}"], [f"block{stage}_{b}"]))
            x, cin = f"block{stage}_{b}", 4 * width
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"]))
    w = rng.standard_normal((1000, 2048), dtype=np.float32) * np.float32(np.sqrt(1 / 2048))
    inits += [numpy_helper.from_array(w, "fc.weight"), numpy_helper.from_array(np.zeros(1000, np.float32), "fc.bias")]
    nodes.append(helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc", transB=1))
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 224, 224])]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1000])]
    graph = helper.make_graph(nodes, "resnet50_shapes", inputs, outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)


def peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def one_pass_s(sim, data, config) -> float:
    """Median seconds of one pass of the data through a pre-built session of `config`."""
    from qviz.model import make_session

    sess = make_session(sim.simulate(config), check=False)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        [sess.run(None, f) for f in data.feeds]
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _load(folder: Path):
    from qviz.evaluate import from_arrays
    from qviz.model import load_model

    loaded = load_model((folder / "model.onnx").read_bytes())
    x = np.load(folder / "x.npy")
    return loaded, x, from_arrays(loaded, x)


def child_sweep(folder: Path, budget_mb: int | None, n_layers: int | None) -> dict:
    """(a) in this process: the sweep, its peak RSS, then the reference pass."""
    from qviz.config import ModelConfig
    from qviz.evaluate import make_runner, sweep, weight_candidate
    from qviz.model.simulate.simulator import Simulator

    loaded, _, data = _load(folder)
    sim = Simulator(loaded)
    runner = make_runner(sim, data, memory_budget_bytes=None if budget_mb is None else budget_mb * MIB)
    ids = [x.id for x in runner.layers][: n_layers or None]
    before = peak_mib()
    res = sweep(runner, candidates={"w8": weight_candidate(8), "w4": weight_candidate(4)}, layers=ids)
    peak = peak_mib()
    mid = runner.layers[len(runner.layers) // 2].id
    ref = one_pass_s(sim, data, ModelConfig().with_layer(mid, weight_candidate(8)))
    return {
        "budget_mib": runner.memory_budget_bytes / MIB,
        "layers": len(ids),
        "cells": len(res.records),
        "sweep_s": res.seconds,
        "pass_s": ref,
        "peak_mib": peak,
        "peak_before_mib": before,
        "held_peak_mib": runner.cache.peak_nbytes / MIB,
        "evictions": runner.cache.evictions,
        "recomputed": runner.cuts.recomputed + runner.chain.recomputed,
        "passes": res.passes,
        "sessions": res.sessions_built,
    }


def child_tune(folder: Path) -> dict:
    """(b) in this process: cold evaluation, then one layer changed at a time."""
    from qviz.config import PRESETS, LayerConfig, ModelConfig
    from qviz.evaluate import evaluate, layer_errors, make_runner
    from qviz.model.simulate.simulator import Simulator

    loaded, x, data = _load(folder)
    base = PRESETS["w8a8"]
    t = time.perf_counter()
    runner = make_runner(Simulator(loaded, x), data)
    evaluate(runner, base)
    cold = time.perf_counter() - t
    changes = []
    config = base
    for i in TUNE_DEPTHS:
        layer = runner.layers[i]
        config = base.with_layer(layer.id, LayerConfig(base.default.weights.replace(bits=4), base.default.activations))
        passes, built = runner.passes, runner.sessions_built
        t = time.perf_counter()
        ev = evaluate(runner, config)
        seconds = time.perf_counter() - t
        changes.append(
            {
                "depth": i,
                "layer": layer.id,
                "s": seconds,
                "segments_run": runner.passes - passes,
                "sessions": runner.sessions_built - built,
            }
        )
        assert ev.n == len(x)
    t = time.perf_counter()
    layer_errors(runner, config)  # the Tune page's per-layer chart of the last change (on demand)
    errors_s = time.perf_counter() - t
    peak = peak_mib()
    ref = one_pass_s(runner.sim, data, base)
    return {
        "float_pass_s": one_pass_s(runner.sim, data, ModelConfig()),
        "layer_errors_s": errors_s,
        "calibration_mib": sum(v.nbytes for v in runner.sim.activations().values()) / MIB,
        "cold_s": cold,
        "changes": changes,
        "segments": len(runner.chain.bounds) - 1,
        "pass_s": ref,
        "peak_mib": peak,
        "held_peak_mib": runner.cache.peak_nbytes / MIB,
    }


def run_child(part: str, folder: Path, *extra: str) -> dict:
    cmd = [sys.executable, __file__, "--child", part, str(folder), *extra]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def render(sweeps: list[dict], tune: dict, images: int) -> str:
    lines = [
        SECTION,
        "",
        f"Machine: {machine()}.",
        "",
        f"Command: `python bench/bench_sweep_memory.py` (ResNet-50 shapes: 53 Conv + 1 Gemm, 25.5 M random weights "
        f"built with onnx.helper; {images} random images of 3 x 224 x 224; one thread per session; each part in a fresh "
        "process, its peak RSS is VmHWM; a full pass is the median of 3 passes through a pre-built session, measured in "
        "the same process).",
        "",
        "(a) Sweep: every layer x {w8, w4} (weight-only int per channel). Targets: peak RSS <= 2 GB, "
        "time <= 1.3 x the L x B full passes.",
        "",
        "| budget | layers x cand. | sweep s | full pass s | sweep / (L x B passes) | peak RSS MiB | held (peak) MiB | "
        "evictions | recomputed | passes | sessions |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sweeps:
        ratio = r["sweep_s"] / (r["cells"] * r["pass_s"])
        lines.append(
            f"| {r['budget_mib']:.0f} MiB | {r['layers']} x 2 | {r['sweep_s']:.1f} | {r['pass_s']:.2f} | "
            f"**{ratio:.2f}** ({'met' if ratio <= 1.3 else 'MISSED'}) | **{r['peak_mib']:.0f}** "
            f"({'met' if r['peak_mib'] <= 2048 else 'MISSED'}) | {r['held_peak_mib']:.0f} | {r['evictions']} | "
            f"{r['recomputed']} | {r['passes']} | {r['sessions']} |"
        )
    return "\n".join(lines) + "\n" + render_tune(tune, images)


def render_tune(tune: dict, images: int) -> str:
    """Part (b): the cold view, each one-layer change, as ratios against a float pass of the same run."""
    fp = tune["float_pass_s"]
    lines = [
        "",
        f"(b) Tune: evaluate() on one Runner, w8a8 calibrated on the same images; the model is cut into "
        f"{tune['segments']} segments. Cold (new Simulator: calibration, every session and pass): "
        f"**{tune['cold_s']:.1f} s** ({tune['cold_s'] / fp:.1f} x a float pass); a float pass {fp:.2f} s, a full pass of "
        f"the w8a8 model {tune['pass_s']:.2f} s ({tune['pass_s'] / fp:.2f} x); peak RSS "
        f"{tune['peak_mib']:.0f} MiB (held by the Runner {tune['held_peak_mib']:.0f} MiB; the Simulator's calibration "
        f"tensors, every layer's input on the {images} images, {tune['calibration_mib']:.0f} MiB, are outside the budget). "
        "Then one layer changed to 4-bit weights (target <= 2 s each):",
        "",
        "| layer (depth) | re-evaluation s | / float pass | segments run | sessions built | target |",
        "|---|---|---|---|---|---|",
    ]
    for c in tune["changes"]:
        ok = "met" if c["s"] <= 2 else "MISSED"
        lines.append(
            f"| {c['layer']} ({c['depth']}) | **{c['s']:.2f}** | {c['s'] / fp:.2f} | {c['segments_run']} | "
            f"{c.get('sessions', '')} | {ok} |"
        )
    med = statistics.median(c["s"] for c in tune["changes"])
    lines += [
        "",
        f"Median re-evaluation: {med:.2f} s ({med / tune['pass_s']:.2f} x a w8a8 pass, {med / fp:.2f} x a float pass). "
        f"The per-layer error chart of the last config (Tune shows it on demand for a model this size): "
        f"{tune['layer_errors_s']:.1f} s ({tune['layer_errors_s'] / fp:.1f} x a float pass).",
    ]
    return "\n".join(lines) + "\n"


NOTES = """Notes:
- What the budget bounds: the tensors a Runner keeps between passes (the cut a sweep streams, the
  segment boundaries of evaluated configs, outputs), counted by their bytes (an array passed through
  several boundaries counts each time). Not in it: the sessions (at most one layer's switchable
  suffix and a few segments: weights plus onnxruntime's pre-packed copy), each run's own tensors,
  the Simulator's dequantized weights (256 MiB at most) and its calibration tensors (every layer's
  input on the calibration data, kept for static activation ranges: most of the Tune peak).
- Before: a sweep kept all 54 layers' suffix sessions, each with its weights, onnxruntime's
  pre-packed copy and a memory arena holding its largest run (430 MB for the whole model at 32
  images, measured): that many sessions is the order of the issue's 11.2 GB. Sessions now run
  without an arena, and a Runner keeps one switchable suffix at a time.
- 64 MiB is less than one cut of the first stages (up to 150 MB at 32 images): those cuts are
  streamed again from the inputs for every cell (the `recomputed` column): the same numbers, in
  more time (the ratio column).
- A Tune change runs the model from the changed layer's segment on; its floor is the w8a8 compute
  from that layer to the output (a w8a8 pass is 2x a float pass here: the fake-quantization nodes),
  so a change in the first half of the network cannot take under 2 s at 32 images on one core.
"""


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="8 images, 6 layers, no doc")
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--tune-only", action="store_true", help="only part (b), printed (no doc)")
    p.add_argument("--budget-mb", type=int, help="also sweep with this budget (default 64 MiB: below one early cut)")
    p.add_argument("--child", nargs=2, metavar=("PART", "DIR"), help=argparse.SUPPRESS)
    p.add_argument("--layers", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        part, folder = args.child[0], Path(args.child[1])
        out = child_tune(folder) if part == "tune" else child_sweep(folder, args.budget_mb, args.layers)
        print(json.dumps(out))
        return
    images = 8 if args.quick else IMAGES
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "model.onnx").write_bytes(resnet50().SerializeToString())
        np.save(folder / "x.npy", np.random.default_rng(1).standard_normal((images, 3, 224, 224), dtype=np.float32))
        layers = ["--layers", "6"] if args.quick else []
        if args.tune_only:  # part (b) alone, printed
            print(render_tune(run_child("tune", folder), images))
            return
        sweeps = [run_child("sweep", folder, *layers)]
        sweeps.append(run_child("sweep", folder, *layers, "--budget-mb", str(args.budget_mb or SMALL_BUDGET_MB)))
        tune = run_child("tune", folder)
    text = render(sweeps, tune, images)
    print(text)
    if not (args.quick or args.no_write):
        write_section(SECTION, text + "\n" + NOTES)


if __name__ == "__main__":
    main()
