"""Run every benchmark in turn (`make bench`); each rewrites its own section of docs/benchmarks.md.

Each runs in its own process so that memory peaks and thread pools do not leak between them.
The classroom load test (bench/load_test.py) is not included: it runs for minutes by design.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCRIPTS = [
    "bench_quant.py",
    "bench_estimators.py",
    "bench_model_load.py",
    "bench_apply.py",
    "bench_evaluate.py",
    "bench_sweep_memory.py",
    "bench_pages.py",
    "bench_worker.py",
    "bench_host.py",
]


def main() -> int:
    failed = []
    for name in SCRIPTS:
        print(f"== {name}", flush=True)
        if subprocess.run([sys.executable, str(BENCH / name)], cwd=BENCH.parent).returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
