"""Taps: a tensor computed inside an If branch or a Loop/Scan body, made a graph output.

Calibration needs every quantized layer's input; onnxruntime returns only graph outputs, and
a value inside a subgraph cannot be named as one. `with_taps` threads it out, one enclosing
graph at a time:

  holder   the inner graph gets                           the holder node gets     value seen outside
  If       an Identity output in the branch holding it;   one more output          the tensor, or an empty
           an empty tensor in every other branch                                   [0] when the branch was not taken
  Loop     one more scan output (stacked per iteration)   one more (last) output   [iterations, *shape]
  Scan     one more scan output (axis 0, forward)         one more (last) output   [iterations, *shape]

`gather` turns what the model returned back into one array per tap: empty parts (branches
not taken) are dropped and the iteration axes of enclosing loops merged into the batch axis.

    >>> import numpy as np
    >>> from onnx import TensorProto, helper
    >>> from qviz.model.runtime.session import make_session
    >>> vi = lambda n, t=TensorProto.FLOAT: helper.make_tensor_value_info(n, t, None)
    >>> then = helper.make_graph([helper.make_node("Neg", ["x"], ["inner"])], "t", [], [vi("inner")])
    >>> other = helper.make_graph([helper.make_node("Identity", ["x"], ["o"])], "e", [], [vi("o")])
    >>> node = helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)
    >>> graph = helper.make_graph([node], "g", [vi("c", TensorProto.BOOL), vi("x")], [vi("y")])
    >>> model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    >>> tapped, names = with_taps(model, [Tap(((0, "then_branch", -1),), "inner", TensorProto.FLOAT)])
    >>> sess = make_session(tapped.SerializeToString(), check=False)
    >>> parts = [sess.run(names, {"c": np.array(c), "x": np.ones((2, 3), np.float32)}) for c in (True, False)]
    >>> gather(parts, [Tap(((0, "then_branch", -1),), "inner", TensorProto.FLOAT)])[0]   # else: nothing
    array([[-1., -1., -1.],
           [-1., -1., -1.]], dtype=float32)

# NOTE: a Loop needs the tapped tensor to have the same shape in every iteration (scan
# outputs are stacked); an If inside a Loop whose branches alternate cannot be tapped that
# way — onnxruntime then fails and the caller reports it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import ModelProto, helper

from qviz.model.load.subgraphs import GraphPath, graph_at
from qviz.model.runtime.executor import LOCAL
from qviz.model.runtime.session import run_session
from qviz.model.simulate.graph_edit import GraphEditor


@dataclass(frozen=True)
class Tap:
    """The tensor `name` as defined in the graph at `path` (elem_type: its ONNX element type)."""

    path: GraphPath
    name: str
    elem_type: int


def defining_path(model: ModelProto, path: GraphPath, name: str) -> GraphPath:
    """The innermost graph along `path` that defines `name` (input, initializer or node output)."""
    for k in range(len(path), 0, -1):
        g = graph_at(model.graph, path[:k])
        defined = {v.name for v in g.input} | {t.name for t in g.initializer}
        if name in defined or any(name in n.output for n in g.node):
            return path[:k]
    return ()


def with_taps(model: ModelProto, taps: list[Tap]) -> tuple[ModelProto, list[str]]:
    """A copy of `model` whose extra graph outputs carry `taps` (module doc); their names."""
    ed = GraphEditor(model)
    names = [_lift(ed, tap) for tap in taps]
    out = ed.finish()
    have = {v.name for v in out.graph.output}
    out.graph.output.extend(onnx.ValueInfoProto(name=n) for n in dict.fromkeys(names) if n not in have)
    return out, names


def _lift(ed: GraphEditor, tap: Tap) -> str:
    """Thread `tap` out to the main graph; the main-graph name that carries it."""
    name, path = tap.name, tap.path
    while path:
        *outer, (index, attr_name, _) = path
        holder = graph_at(ed.model.graph, tuple(outer)).node[index]
        inner = ed.unique(f"{name}_tap")
        ed.graph(path).node.append(helper.make_node("Identity", [name], [inner], name=ed.unique(inner)))
        ed.graph(path).output.append(helper.make_tensor_value_info(inner, tap.elem_type, None))
        if holder.op_type == "If":
            _empty_in_other_branches(ed, holder, attr_name, tap.elem_type)
        elif holder.op_type == "Scan":
            _extend_scan_axes(holder)
        name = ed.unique(f"{name}_tap")
        holder.output.append(name)
        path = tuple(outer)
    return name


def _empty_in_other_branches(ed: GraphEditor, holder: onnx.NodeProto, taken: str, elem_type: int) -> None:
    for attr in holder.attribute:
        if attr.type == onnx.AttributeProto.GRAPH and attr.name != taken:
            out = ed.unique("qviz_tap_empty")
            value = helper.make_tensor(out, elem_type, [0], [])
            attr.g.node.append(helper.make_node("Constant", [], [out], name=ed.unique(out), value=value))
            attr.g.output.append(helper.make_tensor_value_info(out, elem_type, None))


def _extend_scan_axes(holder: onnx.NodeProto) -> None:
    """A new Scan output: axis 0, forward (only when the node lists axes/directions)."""
    for attr in holder.attribute:
        if attr.name in ("scan_output_axes", "scan_output_directions"):
            attr.ints.append(0)


def collect_taps(model: ModelProto, taps: list[Tap], feeds: list[dict], executor=LOCAL) -> list[np.ndarray | None]:
    """Run `model` with `taps` threaded out on every feed; one array per tap (None: never computed)."""
    if not taps or not feeds:
        return [None] * len(taps)
    tapped, names = with_taps(model, taps)
    sess = executor.session(tapped.SerializeToString())
    parts = [run_session(sess, names, feed) for feed in feeds]
    return gather(parts, taps, [loop_depth(model, t.path) for t in taps])


def loop_depth(model: ModelProto, path: GraphPath) -> int:
    """How many Loop/Scan holders enclose the graph at `path` (each adds an iteration axis)."""
    depth = 0
    for k in range(len(path)):
        holder = graph_at(model.graph, path[:k]).node[path[k][0]]
        depth += holder.op_type in ("Loop", "Scan")
    return depth


def gather(parts: list[list[np.ndarray]], taps: list[Tap], depths: list[int] | None = None) -> list[np.ndarray | None]:
    """One array per tap from per-feed results (module doc); None when no feed reached it."""
    depths = depths or [0] * len(taps)
    out: list[np.ndarray | None] = []
    for i, depth in enumerate(depths):
        arrays = [np.asarray(p[i]) for p in parts]
        arrays = [_merge_iterations(a, depth) for a in arrays if a.size or a.ndim != 1]
        out.append(
            np.concatenate(arrays, axis=0) if arrays and arrays[0].ndim else (np.stack(arrays) if arrays else None)
        )
    return out


def _merge_iterations(a: np.ndarray, depth: int) -> np.ndarray:
    """[it_1, ..., it_depth, batch, ...] -> [it_1 * ... * batch, ...]."""
    if depth == 0 or a.ndim <= depth:
        return a
    return a.reshape(-1, *a.shape[depth + 1 :])
