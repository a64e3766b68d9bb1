"""Where onnxruntime runs a model: in this process, or in an isolated worker.

    >>> import onnx
    >>> from qviz.model import load_model
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_mlp")
    >>> loaded = load_model(sample.model_bytes)          # a sample: loaded.executor is LOCAL
    >>> sess = loaded.executor.session(loaded.model_bytes)   # .run(names, feeds), .get_inputs(), .get_outputs()
    >>> sess.run(None, {"input": sample.test.x[:2]})[0].shape
    (2, 10)
    >>> feed = {"input": sample.test.x[:1]}
    >>> len(loaded.executor.measure(loaded.model_bytes, feed, runs=5, warmup=1, threads=1))   # [ms per run]
    5
    >>> opt = loaded.executor.optimized(loaded.model_bytes, level=2)     # ONNX bytes: Gemm + Relu fused
    >>> [n.op_type for n in onnx.load_model_from_string(opt).graph.node]
    ['FusedGemm', 'FusedGemm', 'Gemm']

And onnxruntime's own quantizer, calibrating on `feeds` (qviz.model.deploy.deployable uses it):

    loaded.executor.quantize_static(model_bytes, feeds, overrides)           # ONNX bytes

Every session qviz makes of a loaded model, or of a model built from it (simulated, suffix,
calibration, deployed; onnxruntime's quantize_static, which calibrates with its own sessions),
is made through `loaded.executor`:
  - LOCAL (this module): in this process. Bundled samples, the CLI on the user's own files.
  - qviz.worker.host.ModelHost: in one long-lived worker process with memory, CPU and time
    limits. Every accepted upload gets one (qviz.ui.models), so a model whose cost depends on
    the values it is fed cannot take the server down.
Both run the same code below (the worker calls LOCAL), so numbers agree bit for bit.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Protocol

import onnxruntime as ort

from qviz.model.runtime import ort_quantizer
from qviz.model.runtime.session import make_session, run_session, session_options


def time_runs(sess, feed: dict, runs: int, warmup: int) -> list[float]:
    """Milliseconds of each of `runs` timed runs of `sess` on `feed`, after `warmup` untimed ones."""
    for _ in range(warmup):
        run_session(sess, None, feed)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        run_session(sess, None, feed)
        times.append((time.perf_counter() - t) * 1e3)
    return times


class Executor(Protocol):
    """Where a loaded model's sessions run: LOCAL, or qviz.worker.host.ModelHost (module doc)."""

    def session(self, data: bytes, threads: int = 1) -> Any: ...

    def measure(self, data: bytes, feed: dict, *, runs: int, warmup: int, threads: int = 1) -> list[float]: ...

    def optimized(self, data: bytes, level: int) -> bytes: ...

    def quantize_static(self, data: bytes, feeds: list[dict], overrides: dict) -> bytes: ...


class LocalExecutor:
    """Sessions in this process (see module doc)."""

    def session(self, data: bytes, threads: int = 1):
        """A session of bytes qviz built from a loaded model (no re-check: see make_session)."""
        return make_session(data, threads, check=False)

    def measure(self, data: bytes, feed: dict, *, runs: int, warmup: int, threads: int = 1) -> list[float]:
        return time_runs(self.session(data, threads), feed, runs, warmup)

    def optimized(self, data: bytes, level: int) -> bytes:
        """The graph onnxruntime runs after optimizations at `level` (a GraphOptimizationLevel
        value), as ONNX bytes: the session writes it to a file, read back here."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "optimized.onnx"
            so = session_options(1, optimization_level=ort.GraphOptimizationLevel(level))
            so.optimized_model_filepath = str(path)
            make_session(data, options=so)
            return path.read_bytes()

    def quantize_static(self, data: bytes, feeds: list[dict], overrides: dict) -> bytes:
        """onnxruntime's quantize_static on `data` (see ort_quantizer.quantize_static)."""
        return ort_quantizer.quantize_static(data, feeds, overrides)


LOCAL = LocalExecutor()
