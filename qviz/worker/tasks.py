"""The whitelisted functions a worker runs. The server names one; nothing else can be called.

    describe_upload(data)                          -> {"summary", "layers", "weight_stats", "model_bytes"}
    run_model(data, feeds)                         -> {"outputs": [[name, array], ...]}
    smoke_run(data, rows)                          -> {"outputs", "inputs"}  (generated here)
    simulate_and_run(data, config_json, calib, feeds) -> {"outputs": [[name, array], ...]}
    read_data_upload(name, data, inputs, options)    -> {"x", "y", "note"}  (an images .zip, a text file)
    speed_profile(deployed, float_model, feed, runs) -> SpeedReport.to_dict()  (the Export page's speed check)

Results are plain data (see protocol.py): dicts, lists, str, numbers, numpy arrays. Every
task loads the upload itself with `load_model` (all static checks) plus `check_text_sizes`.
Tests register extra tasks with `register_task` in a module the worker preloads
(`WorkerPool(task_modules=[...])`); the app never does.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from qviz.config import ModelConfig
from qviz.model import ModelError, TensorInfo, layer_table, load_model, make_session, weight_stats
from qviz.model.load.data_files import read_data_bytes
from qviz.model.load.loader import max_model_bytes
from qviz.model.load.model_inputs import model_inputs
from qviz.model.load.model_zip import is_zip, model_from_zip
from qviz.model.simulate.simulator import Simulator

MAX_NAME_CHARS = 4096  # node/tensor/graph names, op types, domains, metadata keys
MAX_TEXT_CHARS = 65536  # doc strings and metadata values
_LONG_FIELDS = ("doc_string", "value")

TASKS: dict = {}


def register_task(name: str, fn) -> None:
    """Make `fn` callable by the worker under `name` (tests only; the app uses the three below)."""
    TASKS[name] = fn


def task(fn):
    register_task(fn.__name__, fn)
    return fn


def run_task(name: str, args: list):
    """Call the whitelisted task `name`; ValueError for any other name."""
    fn = TASKS.get(name)
    if fn is None:
        raise ValueError(f"unknown worker task {name!r}")
    return fn(*args)


def check_text_sizes(msg: Message) -> None:
    """Every string field anywhere in the model within MAX_NAME_CHARS (MAX_TEXT_CHARS for doc
    strings and metadata values): a 1 MB node name would end up in every table and plot."""
    for field, value in msg.ListFields():
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            for sub in [value] if isinstance(value, Message) else value:
                check_text_sizes(sub)
        elif field.type == FieldDescriptor.TYPE_STRING:
            limit = MAX_TEXT_CHARS if field.name in _LONG_FIELDS else MAX_NAME_CHARS
            for text in [value] if isinstance(value, str) else value:
                if len(text) > limit:
                    raise ModelError(f"a {field.name} field is {len(text):,} characters long; the limit is {limit:,}")


def load_upload(data: bytes):
    """load_model + check_text_sizes: the one way a worker turns upload bytes into a model. A .zip
    (one .onnx and the external data files it names) is read here, in memory, confined to the
    model's folder in the zip (qviz.model.load.model_zip); its self-contained bytes go on."""
    if is_zip(data):
        data = model_from_zip(data, max_model_bytes())
    loaded = load_model(data)
    check_text_sizes(loaded.model)
    return loaded


def _plain(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


@task
def describe_upload(data: bytes) -> dict:
    """Summary, layer table rows (Layer fields) and weight statistics rows (stats.COLUMNS);
    missing statistics (empty or all-NaN weights) are None. "model_bytes": the normalized model
    (qviz.model.load.normalize: onnxruntime folds its constants HERE, in the worker), which the
    server loads with `load_model(..., normalized=Normalization.from_dict(summary["normalization"]))`."""
    loaded = load_upload(data)
    layers = layer_table(loaded)
    stats = weight_stats(loaded, layers)
    return {
        "summary": loaded.summary(),
        "layers": [dataclasses.asdict(layer) for layer in layers],
        "weight_stats": [{k: _plain(v) for k, v in row.items()} for row in stats.to_dict("records")],
        "model_bytes": loaded.model_bytes,
    }


def warm_up() -> None:
    """Describe a tiny built-in model once, in the zygote before any fork: pandas, onnx shape
    inference and friends import lazily on first use, and a forked worker inherits that work
    instead of redoing it on every call (~20 ms per call measured). No onnxruntime session is
    created here: the zygote stays free of onnxruntime state that a fork would copy."""
    import onnx
    from onnx import helper, numpy_helper

    w = numpy_helper.from_array(np.ones((2, 2, 1, 1), np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="warm")
    vi = [helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, [1, 2, 2, 2]) for n in ("x", "y")]
    graph = helper.make_graph([node], "warm", vi[:1], vi[1:], [w])
    describe_upload(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10).SerializeToString()
    )


def _run(model_bytes: bytes, feeds: dict) -> dict:
    sess = make_session(model_bytes, check=False)
    try:
        outputs = sess.run(None, feeds)
    except Exception as e:  # noqa: BLE001 - onnxruntime raises private exception types
        text = str(e).strip().splitlines()
        raise ModelError(
            f"onnxruntime failed running the model: {text[0][:300] if text else type(e).__name__}"
        ) from None
    return {"outputs": [[o.name, np.asarray(x)] for o, x in zip(sess.get_outputs(), outputs, strict=True)]}


@task
def run_model(data: bytes, feeds: dict) -> dict:
    """The model's outputs on `feeds` (input name -> array), in graph output order."""
    return _run(load_upload(data).model_bytes, feeds)


@task
def smoke_run(data: bytes, rows: int) -> dict:
    """run_model on one generated batch of `rows` made here from the model itself
    (qviz.model.load.model_inputs: the declared shapes, a fixed batch as is, free dynamic dims
    at a size the model runs on, integers within its Gathers): {"outputs", "inputs": [[name, shape]]}."""
    loaded = load_upload(data)
    feed = model_inputs(loaded, rows, one_batch=True)
    return {**_run(loaded.model_bytes, feed), "inputs": [[name, list(x.shape)] for name, x in feed.items()]}


@task
def simulate_and_run(data: bytes, config_json: str, calib, feeds: dict) -> dict:
    """The simulated model of `config_json` (calibrated on `calib`: None, an array, a dict
    or a list of feeds) run on `feeds`."""
    config = ModelConfig.from_json(config_json)
    return _run(Simulator(load_upload(data), calib).simulate(config), feeds)


DATA_OPTIONS = ("preprocess", "tokenizer", "classes", "seq_len")


@task
def read_data_upload(name: str, data: bytes, inputs: list, options: dict) -> dict:
    """An uploaded data file read for the model inputs `inputs` (the summary's {"name", "dtype",
    "shape"} dicts) by qviz.model.load.data_files.read_data_bytes: decoding images and running a
    tokenizer on user bytes happen here, within the worker's limits. `options`: preprocess
    (JSON text), tokenizer (bytes), classes (list), seq_len; others are refused."""
    unknown = sorted(set(options) - set(DATA_OPTIONS))
    if unknown:
        raise ValueError(f"unknown data options {unknown}")
    infos = tuple(TensorInfo(i["name"], i["dtype"], None if i["shape"] is None else tuple(i["shape"])) for i in inputs)
    if options.get("tokenizer") is not None:  # blobs arrive as memoryviews (protocol.recv_frame copy=False)
        options = {**options, "tokenizer": bytes(options["tokenizer"])}
    read = read_data_bytes(name, bytes(data), infos, **options)
    return {"x": read.data.x, "y": read.data.y, "note": read.note}


@task
def speed_profile(deployed: bytes, float_model: bytes, feed: dict, runs: int) -> dict:
    """qviz.model.deploy.speed.speed_report of an upload's deployed model next to its float model,
    on one batch `feed`, profiled here (the Export page's speed check): SpeedReport.to_dict().
    Both byte strings go through the static checks before a session is made."""
    from qviz.model.deploy.speed import speed_report

    for data in (deployed, float_model):
        check_text_sizes(onnx_model(data))
    return speed_report(bytes(deployed), bytes(float_model), feed, runs, check=True).to_dict()


def onnx_model(data: bytes):
    """The ModelProto of bytes, with the safety module's parser (depth and size limits)."""
    from qviz.model.safety import parse_model

    return parse_model(bytes(data))
