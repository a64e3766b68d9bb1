"""CPU seconds of deployed_graph's dry run on mf.gemm_stack(n, 4): windowed vs whole graph.

.venv/bin/python bench/time_dry_run_windows.py [--full-up-to 1000] [--windows 50,100,200]
"""

from __future__ import annotations

import argparse
import time

from qviz.model import load_model
from qviz.model.simulate import deployed_graph as dg
from qviz.model.simulate import dry_run_windows as dw
from qviz_dev import model_factory as mf


def cpu(fn, loaded) -> float:
    start = time.process_time()
    fn(loaded)
    return time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,300,1000,3000")
    ap.add_argument("--full-up-to", type=int, default=1000)
    ap.add_argument("--windows", default=str(dw.WINDOW_NODES))
    args = ap.parse_args()
    cpu(dg.find_deployed_tensors_full, load_model(mf.to_bytes(mf.gemm_stack(30, 4))))  # imports
    for n in map(int, args.sizes.split(",")):
        loaded = load_model(mf.to_bytes(mf.gemm_stack(n, 4)))
        row = [f"nodes={n:5d}"]
        if n <= args.full_up_to:
            row.append(f"full={cpu(dg.find_deployed_tensors_full, loaded):7.2f}s")
        for w in map(int, args.windows.split(",")):
            dw.WINDOW_NODES = w
            row.append(f"W={w}:{cpu(dg.find_deployed_tensors, loaded):6.2f}s")
        print("  ".join(row), flush=True)


if __name__ == "__main__":
    main()
