"""make_session: the one way qviz creates an onnxruntime session.

    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_mlp")
    >>> sess = make_session(sample.model_bytes)             # CPU, 1 thread, no spinning
    >>> [y.shape for y in run_session(sess, None, {"input": sample.test.x[:5]})]   # sess.run, errors as ModelError
    [(5, 10)]

Rules it applies to every session:
  - CPUExecutionProvider only (this machine also lists AzureExecutionProvider);
  - fixed thread counts and no spinning: an idle session's spinning pool otherwise steals a
    core from the next measurement;
  - constant folding capped (`optimization.constant_folding_max_output_size_in_bytes`,
    present in onnxruntime 1.31, default 1 GiB) so folding cannot be a memory bomb;
  - no CPU memory arena: each run returns its buffers (see the NOTE in `session_options`);
  - the bytes are parsed as ONNX (never as ORT format) and, unless `check=False`, re-run
    through the static safety checks: a derived model must not regain external references.
"""

from __future__ import annotations

import onnx
import onnxruntime as ort

from qviz.model import safety

FOLDING_CAP_BYTES = 256 * 2**20
PROVIDERS = ["CPUExecutionProvider"]


def session_options(
    threads: int = 1, *, optimization_level: ort.GraphOptimizationLevel | None = None
) -> ort.SessionOptions:
    """SessionOptions with qviz's fixed threading and safety limits (see module doc)."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    # NOTE: an arena keeps the peak of every run for the session's life, and an evaluation Runner
    # holds several sessions (qviz.evaluate.session_cache): ResNet-50 shapes at 32 images kept
    # 430 MB per session. Without it, the same speed on the samples and on that model (measured).
    so.enable_cpu_mem_arena = False
    if optimization_level is not None:
        so.graph_optimization_level = optimization_level
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    so.add_session_config_entry("session.load_model_format", "ONNX")
    so.add_session_config_entry("optimization.constant_folding_max_output_size_in_bytes", str(FOLDING_CAP_BYTES))
    return so


def make_session(
    model: bytes | onnx.ModelProto,
    threads: int = 1,
    *,
    check: bool = True,
    optimization_level: ort.GraphOptimizationLevel | None = None,
    options: ort.SessionOptions | None = None,
    disabled_optimizers: tuple[str, ...] = (),
) -> ort.InferenceSession:
    """An onnxruntime CPU session for `model` (bytes or ModelProto).

    check=True re-runs external-data, tensor-size and memory-bomb checks first (cheap
    protobuf walk); pass check=False only for bytes you built from an already-loaded model.
    `options` (e.g. from `session_options(...)` with `optimized_model_filepath` set) replaces
    the defaults; build it with `session_options` so the limits stay. `disabled_optimizers`
    names graph transformers onnxruntime skips (qviz.model.load.normalize keeps only its folding).
    """
    proto: onnx.ModelProto | None
    if isinstance(model, onnx.ModelProto):
        proto, data = model, model.SerializeToString()
    else:
        proto, data = (safety.parse_model(bytes(model)) if check else None), bytes(model)
    if check and proto is not None:  # (check: parsed above)
        safety.check_no_external_data(proto)
        safety.check_tensor_sizes(proto)
        safety.check_memory_bombs(proto)
    so = options or session_options(threads, optimization_level=optimization_level)
    try:
        return ort.InferenceSession(
            data, sess_options=so, providers=PROVIDERS, disabled_optimizers=list(disabled_optimizers) or None
        )
    except Exception as e:  # noqa: BLE001 - onnxruntime raises several private exception types
        raise safety.ModelError(f"onnxruntime cannot load the model: {_first_line(e)}") from None


def run_session(sess: ort.InferenceSession, outputs, feeds: dict, *, quiet: bool = False) -> list:
    """`sess.run(outputs, feeds)`; any onnxruntime failure becomes a ModelError. `quiet`: a
    failure is expected (a probe), so onnxruntime does not log it as an error on stderr.

    # NOTE: a valid model can still fail at run time on the data (a Gather index out of
    # range, a shape the graph cannot take): onnxruntime raises its private exception types,
    # which pages catching ModelError/SpecError would let through. The message is the first
    # line of onnxruntime's (it may name model-provided nodes: pages escape it).
    """
    try:
        return sess.run(outputs, feeds, _quiet_options()) if quiet else sess.run(outputs, feeds)
    except safety.ModelError:  # a session in a worker (qviz.worker.host) says what went wrong
        raise
    except Exception as e:  # noqa: BLE001 - InvalidArgument, Fail, RuntimeException, ...
        raise safety.ModelError(f"onnxruntime cannot run the model on these inputs: {_first_line(e)}") from None


def _quiet_options() -> ort.RunOptions:
    options = ort.RunOptions()
    options.log_severity_level = 4  # fatal only
    return options


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0][:300] if text else type(e).__name__
