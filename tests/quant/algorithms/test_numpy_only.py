"""The algorithm cores belong to the numpy-only engine: importing them loads no heavy layer."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAVY = {"streamlit", "plotly", "onnx", "onnxruntime", "pandas"}


def test_importing_the_algorithms_loads_numpy_only():
    code = "import json, sys, qviz.quant.algorithms; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert set(json.loads(out.stdout.strip().splitlines()[-1])).isdisjoint(HEAVY)
