"""Generated inputs that fit one model: the index ranges its Gathers allow, the sizes it runs on.

    >>> import numpy as np
    >>> from onnx import TensorProto, helper, numpy_helper
    >>> from qviz.model import load_model
    >>> graph = helper.make_graph(
    ...     [helper.make_node("Gather", ["E", "ids"], ["y"])], "g",
    ...     [helper.make_tensor_value_info("ids", TensorProto.INT64, ["N", "seq"])],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "seq", 4])],
    ...     [numpy_helper.from_array(np.zeros((30, 4), np.float32), "E")])
    >>> model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 21)])
    >>> loaded = load_model(model.SerializeToString())
    >>> index_limits(loaded.model)                      # ids index a 30-row table
    {'ids': 30}
    >>> feed = model_inputs(loaded, rows=4)
    >>> feed["ids"].shape, bool(feed["ids"].max() < 30)
    ((4, 8), True)

model_inputs = qviz.model.load.generated_inputs.generated_inputs (its rules) plus what the model
itself says:
  - `index_limits`: an integer input that reaches the indices of a Gather / GatherElements
    (through Cast, Reshape, Unsqueeze, Squeeze, Flatten, Expand, Transpose, Slice, Concat,
    Identity) takes values in [0, the smallest size it indexes); other integer inputs [0, 100);
  - `fitting_dim`: dynamic dims that are not the batch (an image's height and width, a sequence
    length) get the first size in `start`, then DIM_CANDIDATES above it, on which the model runs
    one generated row. A YOLO export whose height and width are dynamic fails at 8 (its strides
    need a multiple of 32) and runs at 32. When every dim is fixed or the batch, nothing is run.
    The run uses the model's executor (an upload's isolated worker); results are cached by the
    model's SHA-256. None fits -> ModelError naming the sizes tried and onnxruntime's first error.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict

import numpy as np
import onnx

from qviz.model.load.generated_inputs import DIM_DEFAULT, free_dims, generated_inputs
from qviz.model.runtime.session import run_session
from qviz.model.safety import ModelError

DIM_CANDIDATES = (1, 8, 32, 64, 224, 256, 512)
INDEX_OPS = ("Gather", "GatherElements")  # their input 1 indexes input 0 along `axis`
# Ops whose input 0 reaches the output with its values unchanged (Concat: every input).
PASS_THROUGH = (
    "Identity",
    "Cast",
    "Reshape",
    "Unsqueeze",
    "Squeeze",
    "Flatten",
    "Expand",
    "Transpose",
    "Slice",
    "Concat",
)
_FITTED: OrderedDict = OrderedDict()  # (sha256, start, dims) -> size
_FITTED_MAX = 256


def model_inputs(
    loaded, rows: int, seed: int | np.random.Generator = 0, *, dims=None, dim_default=None, one_batch=False
) -> dict[str, np.ndarray]:
    """generated_inputs for `loaded` (a LoadedModel) with its index limits; `dim_default` None:
    fitting_dim(loaded) (module doc)."""
    if dim_default is None:
        dim_default = fitting_dim(loaded, dims=dims)
    high = index_limits(loaded.model)
    return generated_inputs(
        loaded.inputs, rows, seed, dims=dims, dim_default=dim_default, one_batch=one_batch, high=high
    )


def fitting_dim(loaded, start: int = DIM_DEFAULT, *, dims=None) -> int:
    """The size for the model's free dynamic dims: `start` or the first larger candidate it runs on."""
    if not free_dims(loaded.inputs, dims):
        return start
    key = (loaded.sha256, start, tuple(sorted((dims or {}).items())))
    size = _FITTED.get(key)
    if size is None:  # NOTE: app sessions share this cache from several threads: a race only probes twice
        size = _FITTED[key] = _probe(loaded, start, dims)
        while len(_FITTED) > _FITTED_MAX:
            _FITTED.popitem(last=False)
    return size


def _probe(loaded, start: int, dims) -> int:
    sess = loaded.executor.session(loaded.model_bytes)
    high = index_limits(loaded.model)
    tried, first_error = [], ""
    for size in [start, *(c for c in DIM_CANDIDATES if c > start)]:
        feed = generated_inputs(loaded.inputs, 1, 0, dims=dims, dim_default=size, one_batch=True, high=high)
        try:
            run_session(sess, None, feed, quiet=True)  # a size that fails is expected here
            return size
        except ModelError as e:
            tried.append(size)
            first_error = first_error or str(e)
    names = ", ".join(free_dims(loaded.inputs, dims))
    raise ModelError(
        f"the model runs on none of the generated sizes for its dynamic dims ({names}: tried "
        f"{', '.join(map(str, tried))}); first error: {first_error}. Give it real inputs (an .npz)"
    )


def index_limits(model: onnx.ModelProto) -> dict[str, int]:
    """{integer graph input: the smallest dim it indexes} for inputs that reach a Gather's indices."""
    g = model.graph
    consumers = defaultdict(list)
    for node in g.node:
        for i, name in enumerate(node.input):
            consumers[name].append((node, i))
    shapes = _static_shapes(g)
    inits = {t.name for t in g.initializer}
    limits = {}
    for v in g.input:
        elem = v.type.tensor_type.elem_type
        if v.name in inits or not elem or np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem)).kind not in "iu":
            continue
        sizes = _indexed_sizes(v.name, consumers, shapes)
        if sizes:
            limits[v.name] = min(sizes)
    return limits


def _indexed_sizes(name: str, consumers: dict, shapes: dict) -> list[int]:
    """Sizes of the dims that the values of `name` index, following PASS_THROUGH ops."""
    sizes, todo, seen = [], [name], {name}
    while todo:
        for node, i in consumers[todo.pop()]:
            if node.domain not in ("", "ai.onnx"):
                continue
            if node.op_type in INDEX_OPS and i == 1:
                size = _axis_size(node, shapes)
                sizes += [size] if size else []
            elif node.op_type in PASS_THROUGH and (i == 0 or node.op_type == "Concat") and _keeps_integers(node):
                todo += [o for o in node.output if o not in seen]
                seen.update(node.output)
    return sizes


def _keeps_integers(node: onnx.NodeProto) -> bool:
    if node.op_type != "Cast":
        return True
    to = next((a.i for a in node.attribute if a.name == "to"), 0)
    return bool(to) and np.dtype(onnx.helper.tensor_dtype_to_np_dtype(to)).kind in "iu"


def _axis_size(node: onnx.NodeProto, shapes: dict) -> int | None:
    shape = shapes.get(node.input[0])
    if not shape:
        return None
    axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
    return shape[axis] if -len(shape) <= axis < len(shape) else None


def _static_shapes(g: onnx.GraphProto) -> dict[str, tuple[int, ...]]:
    """Known shapes of the top graph's tensors: initializers, Constant values, fixed value infos."""
    shapes = {t.name: tuple(t.dims) for t in g.initializer}
    for node in g.node:
        if node.op_type == "Constant":
            value = next((a.t for a in node.attribute if a.name == "value"), None)
            if value is not None:
                shapes[node.output[0]] = tuple(value.dims)
    for v in [*g.input, *g.value_info]:
        dims = v.type.tensor_type.shape.dim
        if v.name not in shapes and dims and all(d.HasField("dim_value") for d in dims):
            shapes[v.name] = tuple(d.dim_value for d in dims)
    return shapes
