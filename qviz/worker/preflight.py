"""Pre-flight of uploaded models: parse, check and run them in an isolated worker first.

    info = preflight_model(data)               # ModelError / SpecError / WorkerError if it fails
    info["summary"]["inputs"]                  # the worker's describe_upload result
    preflight_inputs(data, first_feed)         # one batch of the user's .npz, run in a worker

What a pre-flight does (every step in a worker: qviz.worker, with its memory / CPU / wall
limits, no secrets, an empty working directory):
  1. describe_upload: parse + every static safety check + normalization (qviz.model.load.normalize:
     onnxruntime folds constant-only nodes, the opset is upgraded) + layer table + weight
     statistics; it returns the normalized bytes (info["model_bytes"]), which 2 and 3 run;
  2. a smoke run of the float model on ONE generated batch with the evaluation's shapes, made
     in the worker from the model itself (task smoke_run; `smoke_feeds` is the same batch: the
     first that qviz.evaluate.data.generated makes): the shapes the model declares (a fixed
     1x3x320x320 gets exactly that), a dynamic batch of 64 rows, other dynamic dims 8 or the first
     larger size the model runs on (qviz.model.load.model_inputs.fitting_dim), seeded normal
     values, integers within the Gathers they index, else in [0, 100);
  3. (when the user uploads an .npz) a run on the first batch of those inputs. A model whose
     step 2 fails can still be accepted this way: its own data is what it runs on.
Only the normalized bytes of a model that passed 1 and 2 are parsed in the server process
(qviz.ui.models.loaded_upload, with the worker's record: the server never normalizes), and
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
from qviz.model.load.model_inputs import model_inputs
from qviz.worker import Limits, WorkerPool

SMOKE_ROWS = 64  # = qviz.model.simulate.calibrate.DEFAULT_BATCH: the batch the evaluation runs


def smoke_feeds(loaded, rows: int = SMOKE_ROWS, seed: int = 0) -> dict[str, np.ndarray]:
    """The batch the worker's smoke run feeds `loaded` (a LoadedModel): the first batch of
    qviz.evaluate.data.generated(model, n=rows, seed) (qviz.model.load.model_inputs)."""
    return model_inputs(loaded, rows, seed, one_batch=True)


def call_limits(limits: Limits | None = None) -> Limits:
    """`limits`, else the QVIZ_WORKER_* environment read now (so a test or operator can change it)."""
    return limits if limits is not None else Limits.from_env()


def preflight_model(
    data: bytes, feeds: dict | None = None, *, limits: Limits | None = None, pool: WorkerPool | None = None
) -> dict:
    """describe_upload + a smoke run of the normalized model, both in workers (module doc); the
    describe_upload dict (its "model_bytes" are the normalized model). `feeds`: one batch of
    the user's inputs, run instead of generated ones (a model that fails on generated inputs)."""
    limits = call_limits(limits)
    try:
        info = worker.describe_upload(data, limits=limits, pool=pool)
    except Exception as e:
        e.described = None  # type: ignore[attr-defined]  # the checks themselves failed: nothing to offer
        raise
    try:
        if feeds is None:
            smoke_run(info["model_bytes"], limits=limits, pool=pool)
        else:
            worker.run_model(info["model_bytes"], feeds, limits=limits, pool=pool)
    except Exception as e:
        # the model passed its checks, only its run failed: the page asks for the user's own inputs
        # with this summary, instead of describing the same bytes again in another worker
        e.described = info  # type: ignore[attr-defined]
        raise
    return info


def smoke_run(data: bytes, *, limits: Limits | None = None, pool: WorkerPool | None = None) -> dict:
    """The worker's smoke run (step 2): {"outputs": [[name, array]], "inputs": [[name, shape]]}."""
    pool = pool if pool is not None else worker.default_pool()
    return pool.call("smoke_run", bytes(data), SMOKE_ROWS, limits=call_limits(limits))


def preflight_inputs(data: bytes, feeds: dict, *, limits: Limits | None = None, pool: WorkerPool | None = None) -> None:
    """Run the model on one batch of the user's inputs in a worker (errors as preflight_model)."""
    worker.run_model(data, feeds, limits=call_limits(limits), pool=pool)
