"""Isolated workers: every parse, check, shape inference and run of an uploaded model.

The app calls these instead of qviz.model directly for user uploads:

    from qviz.worker import describe_upload, run_model, simulate_and_run, WorkerError
    from qviz.worker.host import ModelHost   # every later session of an accepted upload:
    loaded = load_model(data).isolated(ModelHost())   # host.py
    info = describe_upload(data)       # {"summary": {...}, "layers": [...], "weight_stats": [...]}
    out = run_model(data, {"x": x})    # {"y": array}
    out = simulate_and_run(data, cfg.to_json(), calib_x, {"x": x})
    try: ...
    except (ModelError, SpecError, WorkerError) as e: st.error(ui.md_escape(str(e)))

  Messages are short plain text but may quote model-provided names (node, tensor, input
  names): a page shows them through `qviz.ui.md_escape`, never as raw markdown.

  describe_upload(data, *, limits=None) -> dict
      "summary": LoadedModel.summary(); "layers": one dict per Layer (fields of
      qviz.model.Layer, tuples as lists); "weight_stats": one dict per layer with the columns
      of qviz.model.load.weight_stats.COLUMNS, None for missing statistics. pd.DataFrame(rows) rebuilds
      the tables.
  run_model(data, feeds, *, limits=None) -> dict[str, np.ndarray]       graph output order
  simulate_and_run(data, config_json, calib, feeds, *, limits=None) -> dict[str, np.ndarray]

Each call runs in a fresh process forked from a preloaded zygote (pool.py, zygote.py) with
`Limits` (default: 3 GB address space, 60 s CPU, 60 s wall; QVIZ_WORKER_MEMORY_MB,
QVIZ_WORKER_CPU_S, QVIZ_WORKER_WALL_S override), an empty working directory, an environment
built from scratch (no secrets), onnxruntime on the CPU EP with one thread and constant
folding capped. Pre-flights and model hosts have separate budgets of `os.cpu_count()` run
slots each, handed out first come first served (fair_queue.py: one turn per session, places
shown, cancellation; a "busy" WorkerError when too many wait), and the memory limits of all
live workers together stay under QVIZ_WORKERS_MEMORY_MB (memory_budget.py, default half the
machine's memory). Failed uploads are remembered by content hash, with a backoff for sessions
that keep failing (upload_guard.py; used by qviz.ui.upload). Results come back as JSON + raw arrays, never pickle
(protocol.py). Failures: ModelError / SpecError as raised by the checks in the worker, else a
WorkerError whose `kind` is crash, memory, cpu_time, wall_time, busy, cancelled,
one_at_a_time, backoff or internal.

Security boundary: the worker limits resources and sees no secrets and no files through
models (external data is rejected before any file is opened, and its working directory is
empty; an uploaded .zip's external data is read from the zip's own members, in memory:
qviz.model.load.model_zip). It is not a sandbox against native code execution (it runs as the server's user);
for that, run the zygote under a separate user or a container (see docs/benchmarks.md).
"""

from __future__ import annotations

import atexit
import threading

import numpy as np

from qviz.worker.errors import WorkerError
from qviz.worker.limits import Limits
from qviz.worker.pool import WorkerPool

_default: WorkerPool | None = None
_default_lock = threading.Lock()


def default_pool() -> WorkerPool:
    """The process-wide pool (created on first use with Limits.from_env(); closed at exit)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = WorkerPool()
            atexit.register(_default.close)
        return _default


def _pool(pool: WorkerPool | None) -> WorkerPool:
    return pool if pool is not None else default_pool()


def _arrays(feeds: dict) -> dict:
    """Feeds as arrays: a numpy scalar would otherwise travel as a Python number."""
    return {name: np.asarray(x) for name, x in feeds.items()}


def describe_upload(data: bytes, *, limits: Limits | None = None, pool: WorkerPool | None = None) -> dict:
    """load_model + layer_table + weight_stats of uploaded bytes, in a worker (see module doc)."""
    return _pool(pool).call("describe_upload", bytes(data), limits=limits)


def run_model(data: bytes, feeds: dict, *, limits: Limits | None = None, pool: WorkerPool | None = None) -> dict:
    """The model's outputs on `feeds` (input name -> array), as {output name: array}."""
    return dict(_pool(pool).call("run_model", bytes(data), _arrays(feeds), limits=limits)["outputs"])


def simulate_and_run(
    data: bytes, config_json: str, calib, feeds: dict, *, limits: Limits | None = None, pool: WorkerPool | None = None
) -> dict:
    """Outputs of the simulated model of `config_json` (calibrated on `calib`, None = generated
    inputs) on `feeds`, as {output name: array}."""
    result = _pool(pool).call("simulate_and_run", bytes(data), config_json, calib, _arrays(feeds), limits=limits)
    return dict(result["outputs"])


__all__ = ["Limits", "WorkerError", "WorkerPool", "default_pool", "describe_upload", "run_model", "simulate_and_run"]
