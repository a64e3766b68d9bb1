"""Bounded cost: the mixed-precision search on a ResNet-50-sized model and on a 121-layer real model.

    python bench/bench_search.py                      # both parts, rewrites the "Search" section of docs/benchmarks.md
    python bench/bench_search.py --images 8 --no-write
    python bench/bench_search.py --skip-densenet      # no /work/real_models here

Each search runs in a fresh process (peak RSS = VmHWM of that process), with the default
candidates (int 8/6/4/3/2 per channel, of which int8 and int4 deploy: the search tries those),
the Runner's default 1 GiB budget and the default `max_evaluations` (a quarter of L x B, at least 24), under a
bits-per-weight budget of 6 (about half the layers to 4 bits). In the same process, after the
search, one full pass is timed (median of 3 passes of the data through a pre-built session of a
one-layer simulated model), and the search time is reported as a ratio to

    L x B single passes         the sensitivity a sweep of the same candidates costs, and
    (L x B + E) single passes   that plus the E full configs the search evaluated.

(a) ResNet-50 shapes (bench_sweep_memory.resnet50: 53 Conv + 1 Gemm, 25.5 M random weights),
    `--images` random 3 x 224 x 224 images (default 32).
(b) ONNX's light DenseNet-121 (121 layers; weights made by ConstantOfShape, so every weight is
    one constant and every damage is 0: the path is decided by graph order), on the photos in
    --photos (ImageNet preprocessing), from --models (default /work/real_models).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.bench_sweep_memory import MIB, one_pass_s, peak_mib, resnet50  # noqa: E402
from bench.common import machine, write_section  # noqa: E402

SECTION = "## Search: memory and time on a ResNet-50-sized model and a 121-layer model"
BPW = 6.0


def child(model_path: Path, data_dir: Path | None, x_path: Path | None, budget_mb: int | None = None) -> dict:
    """One search in this process: its peak RSS, counters, then the reference pass."""
    from qviz.config import ModelConfig
    from qviz.evaluate import from_arrays, make_runner, search, weight_candidate
    from qviz.model import load_model
    from qviz.model.simulate.simulator import Simulator

    loaded = load_model(model_path, max_bytes=400 * MIB)
    if data_dir is not None:
        from qviz.cli import main as cli

        paths = ["--data", str(data_dir), "--calib", str(data_dir), "--preprocess", "imagenet"]
        args = cli.build_parser().parse_args(["search", str(model_path), "--budget-bpw", str(BPW), *paths])
        data, calib = cli.load_eval_data(args, loaded, "calibration"), cli.load_calibration(args, loaded)
    else:
        assert x_path is not None
        x = np.load(x_path)
        data, calib = from_arrays(loaded, x), x
    sim = Simulator(loaded, calib)
    runner = make_runner(sim, data, memory_budget_bytes=None if budget_mb is None else budget_mb * MIB)
    before = peak_mib()
    sessions_alive = []
    res = search(runner, None, {"bpw": BPW}, progress=lambda *_: sessions_alive.append(_sessions_held(runner)))
    peak = peak_mib()
    mid = runner.layers[len(runner.layers) // 2].id
    ref = one_pass_s(sim, data, ModelConfig().with_layer(mid, weight_candidate(8)))
    return {
        "layers": len(runner.layers),
        "candidates": 2,  # of the default 8/6/4/3/2, int8 and int4 deploy: the ones searched
        "images": data.n,
        "evaluations": len(res.evaluated),
        "seconds": res.seconds,
        "pass_s": ref,
        "peak_mib": peak,
        "peak_before_mib": before,
        "held_peak_mib": runner.cache.peak_nbytes / MIB,
        "budget_mib": runner.memory_budget_bytes / MIB,
        "sessions_built": runner.sessions_built,
        "sessions_held_max": max(sessions_alive or [0]),
        "segments": len(runner.chain.bounds) - 1,
        "passes": runner.passes,
        "best_bpw": None if res.best is None else res.best["bits_per_weight"],
        "weight_quantizations": sim.weight_quantizations,
    }


def _sessions_held(runner) -> int:
    """Sessions the Runner's LRUs hold now (a layer's suffix, cut segments, config segments)."""
    return len(runner._sessions) + len(runner.cuts.sessions) + len(runner.chain.sessions)


def run_child(*argv: str, budget_mb: int | None = None) -> dict:
    cmd = [sys.executable, __file__, "--child", *argv, *(["--budget-mb", str(budget_mb)] if budget_mb else [])]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def render(rows: list[tuple[str, dict]]) -> str:
    lines = [
        SECTION,
        "",
        f"Machine: {machine()}.",
        "",
        "Command: `python bench/bench_search.py` (each search in a fresh process; peak RSS is its VmHWM; "
        f"budget {BPW} bits per weight; default candidates, of which int8 and int4 deploy and are searched; "
        "default Runner budget 1 GiB and max_evaluations (a quarter of L x B, at least 24); a full pass is the median of 3 passes through a "
        "pre-built session, measured in the same process).",
        "",
        "| model | layers x cand. | images | segments | search s | full pass s | search / (L x B passes) | "
        "search / ((L x B + E) passes) | full configs E | peak RSS MiB | held (peak) MiB | sessions held (max) | "
        "weight quantizations | best bpw |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows:
        lb = r["layers"] * r["candidates"]
        best = "none" if r["best_bpw"] is None else f"{r['best_bpw']:.2f}"
        lines.append(
            f"| {name} | {r['layers']} x {r['candidates']} | {r['images']} | {r['segments']} | {r['seconds']:.0f} | "
            f"{r['pass_s']:.2f} | **{r['seconds'] / (lb * r['pass_s']):.2f}** | "
            f"{r['seconds'] / ((lb + r['evaluations']) * r['pass_s']):.2f} | {r['evaluations']} | "
            f"**{r['peak_mib']:.0f}** | {r['held_peak_mib']:.0f} | {r['sessions_held_max']} | "
            f"{r['weight_quantizations']} | {best} |"
        )
    return "\n".join(lines) + "\n"


NOTES = """Notes:
- What bounds the search now: the sensitivity is the sweep (one switchable suffix session at a
  time, cuts streamed within the budget); those sessions are freed before any full config runs;
  full configs run on the segment chain (each segment's session for the path's specs + the one
  being replaced, so about one model's sessions) with the budget's tensors; at most
  max_evaluations full configs (a quarter of L x B, at least 24), after which steps follow the
  per-layer sensitivities (the budget is still reached). Before: every demotion step verified 3 full configs until the budget
  held (about 3 per demoted layer: ~180 full evaluations at 121 layers), and the search stopped
  at 400 even when the budget was not reached.
- Not in the budget: the Simulator's dequantized-weight LRU (256 MiB) and its calibration
  tensors; and the weight quantizations: a segment rebuilt for a new config quantizes every
  layer in it again whose dequantized weight fell out of that LRU (AlexNet's 38 M-weight fc6
  does not fit next to the others, so its MSE range search runs again per evaluation).
"""


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--images", type=int, default=32)
    p.add_argument("--models", type=Path, default=Path("/work/real_models"))
    p.add_argument("--photos", type=Path, default=Path("/work/real_data/photos"))
    p.add_argument("--skip-densenet", action="store_true")
    p.add_argument("--skip-resnet", action="store_true")
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--budget-mb", type=int, help="the Runner's memory budget (default 1 GiB)")
    p.add_argument("--child", nargs=3, metavar=("MODEL", "DATA_DIR", "X"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        model, data_dir, x = args.child
        data = Path(data_dir) if data_dir != "-" else None
        out = child(Path(model), data, Path(x) if x != "-" else None, args.budget_mb)
        print(json.dumps(out))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if not args.skip_resnet:
            (folder / "resnet50.onnx").write_bytes(resnet50().SerializeToString())
            x = np.random.default_rng(1).standard_normal((args.images, 3, 224, 224), dtype=np.float32)
            np.save(folder / "x.npy", x)
            t = time.perf_counter()
            model, x_file = str(folder / "resnet50.onnx"), str(folder / "x.npy")
            rows.append(("ResNet-50 shapes", run_child(model, "-", x_file, budget_mb=args.budget_mb)))
            print(f"resnet50: {time.perf_counter() - t:.0f} s", file=sys.stderr)
        densenet = args.models / "light_densenet121.onnx"
        if not args.skip_densenet and densenet.exists():
            from bench.bench_real_models import photo_folder

            photos = photo_folder(args.photos, folder / "photos")
            rows.append(
                ("light_densenet121 (photos)", run_child(str(densenet), str(photos), "-", budget_mb=args.budget_mb))
            )
    text = render(rows)
    print(text)
    if not args.no_write:
        write_section(SECTION, text + "\n" + NOTES)


if __name__ == "__main__":
    main()
