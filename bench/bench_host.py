"""Benchmark: what running an upload's sessions in its model host (qviz.worker.host) costs.

    python bench/bench_host.py             # prints the table, rewrites its section of docs/benchmarks.md
    python bench/bench_host.py --quick     # fewer runs, does not write the doc

For each bundled sample, the same work twice, interleaved run by run (median of RUNS):
    in-process   load_model(bytes)                      (how a bundled sample runs)
    host         load_model(bytes).isolated(ModelHost()) (how an accepted upload runs)
Work measured, on the sample's test split:
    evaluate     a Tune interaction: a new config (w8a8, then w4 weights on one more layer each
                 run so nothing is cached) simulated, its session built and run on every batch
    sweep        sweep(bits 8 and 4) over every layer with a new Runner (it builds L suffix sessions)
The calibration run and the float outputs are done once before timing, for both.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # qviz, and bench.common
from bench.common import machine, write_section  # noqa: E402
from qviz.config import PRESETS, LayerConfig  # noqa: E402
from qviz.evaluate import Runner, evaluate, from_sample, make_runner, sweep  # noqa: E402
from qviz.model import load_model  # noqa: E402
from qviz.model.simulate.simulator import Simulator  # noqa: E402
from qviz.quant import QuantSpec  # noqa: E402
from qviz.samples import load_sample  # noqa: E402
from qviz.worker import WorkerPool  # noqa: E402
from qviz.worker.host import ModelHost  # noqa: E402

SECTION = "## Model host"
SAMPLES = ["digits_mobilenet", "digits_cnn", "digits_transformer", "digits_mlp"]


def runners(sample_id: str, pool: WorkerPool) -> dict:
    """{"in-process": Runner, "host": Runner}, calibrated and warmed up."""
    sample = load_sample(sample_id)
    data = from_sample(sample, "test")
    out = {}
    for name, loaded in [
        ("in-process", load_model(sample.model_bytes)),
        ("host", load_model(sample.model_bytes).isolated(ModelHost(pool))),
    ]:
        runner = make_runner(Simulator(loaded, sample.calibration.x), data)
        runner.float_outputs()
        out[name] = runner
    return out


def config_for(runner, k: int):
    """w8a8 with 4-bit weights on layer k (mod L): a config no session cache has seen."""
    layer = runner.layers[k % len(runner.layers)]
    return PRESETS["w8a8"].with_layer(layer.id, LayerConfig(QuantSpec(bits=4, granularity="channel"), None))


def time_evaluate(runner, k: int) -> float:
    t0 = time.perf_counter()
    evaluate(runner.sim.loaded, config_for(runner, k), runner=runner)
    return time.perf_counter() - t0


def time_sweep(runner) -> float:
    t0 = time.perf_counter()
    sweep(Runner(runner.sim, runner.data), candidates=(8, 4))  # a new Runner builds its L sessions
    return time.perf_counter() - t0


def measure(sample_id: str, pool: WorkerPool, runs: int) -> dict:
    both = runners(sample_id, pool)
    times = {(kind, name): [] for kind in ("evaluate", "sweep") for name in both}
    for k in range(runs):
        for name, runner in both.items():
            times[("evaluate", name)].append(time_evaluate(runner, k))
    for _ in range(max(1, runs // 4)):
        for name, runner in both.items():
            times[("sweep", name)].append(time_sweep(runner))
    return {key: statistics.median(v) for key, v in times.items()}


def report(results: dict, runs: int) -> str:
    lines = [
        SECTION,
        "",
        f"Machine: {machine()}.",
        "",
        f"Command: `python bench/bench_host.py` — median of {runs} interleaved runs (sweeps: {max(1, runs // 4)}).",
        "",
        "| sample | evaluate in-process ms | in host ms | host / in-process | sweep (8, 4) in-process s | in host s | host / in-process |",
        "|---|---|---|---|---|---|---|",
    ]
    for sample_id, r in results.items():
        ev_l, ev_h, sw_l, sw_h = (
            r[("evaluate", "in-process")],
            r[("evaluate", "host")],
            r[("sweep", "in-process")],
            r[("sweep", "host")],
        )
        lines.append(
            f"| {sample_id} | {ev_l * 1e3:.0f} | {ev_h * 1e3:.0f} | {ev_h / ev_l:.2f} | "
            f"{sw_l:.2f} | {sw_h:.2f} | {sw_h / sw_l:.2f} |"
        )
    lines += [
        "",
        "How to read it:",
        "",
        "- An upload's sessions run in its host: every run is a request over a Unix socket (feeds and",
        "  outputs as raw arrays, no pickle) and every new session sends the model's bytes once.",
        "  Read-only feeds (the evaluation batches, the sweep's cached cut tensors) are sent once and",
        "  kept by the host; before that, a MobileNet sweep sent 588 MB per run and cost 1.48x.",
        "  The host runs onnxruntime with the same one thread, no spinning, as in-process.",
        "- The ratio is the price of isolation per interaction (a few ms per request: it shows on",
        "  the tiny MLP, whose whole evaluation takes 3 ms); bundled samples do not pay it.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs = 3 if args.quick else 9
    with WorkerPool() as pool:
        results = {s: measure(s, pool, runs) for s in (SAMPLES[:2] if args.quick else SAMPLES)}
    text = report(results, runs)
    print(text)
    if not args.quick:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
