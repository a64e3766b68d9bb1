"""Pre-flight of uploaded models: parse, check and run them in an isolated worker first.

    info = preflight_model(data)               # ModelError / SpecError / WorkerError if it fails
    info["summary"]["inputs"]                  # the worker's describe_upload result
    preflight_inputs(data, first_feed)         # one batch of the user's .npz, run in a worker

What a pre-flight does (every step in a worker: qviz.worker, with its memory / CPU / wall
limits, no secrets, an empty working directory):
  1. describe_upload: parse + every static safety check + layer table + weight statistics;
  2. a smoke run of the float model on ONE generated batch with the evaluation's shapes
     (`smoke_feeds`: the first batch that qviz.evaluate.data.generated makes: a dynamic first
     dim is 64 rows, other dynamic dims 8, seeded normal values, integers rint-clipped to 0..3);
  3. (when the user uploads an .npz) a run on the first batch of those inputs.
Only bytes that passed 1 and 2 are parsed in the server process (qviz.ui.load_upload), and
only inputs that passed 3 are kept. So run-time memory bombs, endless loops and crashing ops
that show on these inputs end as a short message for that user, not in the server.

After the pre-flight, every onnxruntime session of the upload (calibration, evaluation,
sweeps, searches, latency, the kernel report, quantize_static for the deployable model) runs
in the upload's own long-lived worker (qviz.worker.host.ModelHost) with the same limits per
call: a model whose cost depends on the VALUES it is fed (a Loop trip count or a
ConstantOfShape size computed from the input), which a pre-flight cannot see, fails that one
call with a short message.

What it does NOT guarantee (said plainly):
- The server parses the accepted bytes and builds the simulated graphs itself (numpy and
  protobuf work, bounded by the checks in 1, which the same bytes passed within the worker's
  limits). One-node oracle graphs that qviz builds from a layer's quantized codes for the
  integer-only walkthrough (qviz.model.runtime.qlinear) also run in the server.
- The worker limits resources; it is not a sandbox against native-code exploits of
  onnxruntime or onnx (run the server as an unprivileged user / in a container:
  docs/deployment.md).
"""

from __future__ import annotations

import numpy as np

from qviz import worker
from qviz.model.load.generated_inputs import generated_inputs
from qviz.worker import Limits, WorkerPool

SMOKE_ROWS = 64  # = qviz.model.simulate.calibrate.DEFAULT_BATCH: the batch the evaluation runs


def smoke_feeds(inputs: list[dict], rows: int = SMOKE_ROWS, seed: int = 0) -> dict[str, np.ndarray]:
    """One batch of generated inputs from the summary's input list ({"name", "dtype", "shape"}):
    the first batch of qviz.evaluate.data.generated(model, n=rows, seed) (qviz.model.load.generated_inputs)."""
    return generated_inputs(inputs, rows, seed, one_batch=True)


def call_limits(limits: Limits | None = None) -> Limits:
    """`limits`, else the QVIZ_WORKER_* environment read now (so a test or operator can change it)."""
    return limits if limits is not None else Limits.from_env()


def preflight_model(data: bytes, *, limits: Limits | None = None, pool: WorkerPool | None = None) -> dict:
    """describe_upload + a smoke run, both in workers (module doc); the describe_upload dict."""
    limits = call_limits(limits)
    info = worker.describe_upload(data, limits=limits, pool=pool)
    worker.run_model(data, smoke_feeds(info["summary"]["inputs"]), limits=limits, pool=pool)
    return info


def preflight_inputs(data: bytes, feeds: dict, *, limits: Limits | None = None, pool: WorkerPool | None = None) -> None:
    """Run the model on one batch of the user's inputs in a worker (errors as preflight_model)."""
    worker.run_model(data, feeds, limits=call_limits(limits), pool=pool)
