"""A corpus of hostile or broken uploads, each with the task it targets and the outcome expected.

    >>> case = CORPUS["cos_runtime_bomb"]
    >>> case.task, case.expect, case.match
    ('run_model', 'memory', 'needed more than')

expect: "model" (ModelError), "memory" / "wall_time" / "cpu_time" / "crash" (WorkerError kind),
or "accept" (loads; the hostile text comes back verbatim, as data). Models are tiny: every
one is built here from onnx.helper (or raw protobuf wire bytes when the helper refuses).
"""

from __future__ import annotations

import base64
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper

from qviz_dev import model_factory as mf

XSS = "<img src=x onerror=alert(1)>"
MARKDOWN = "[click me](javascript:alert(1)) **bold** <script>alert(2)</script>"
ANSI = "\x1b[31mred\x1b[0m\x1b]0;title\x07"
LOCATIONS = {
    "secrets": ".streamlit/secrets.toml",
    "passwd": "/etc/passwd",
    "parent": "../x",
    "environ": "/proc/self/environ",
}


@dataclass(frozen=True)
class Case:
    data: bytes
    task: str = "describe_upload"
    expect: str = "model"
    match: str = ""
    feeds: dict = field(default_factory=dict)


def i64(*values) -> np.ndarray:
    return np.array(values, np.int64)


# ---- not a model ------------------------------------------------------------------------------


def png_bytes() -> bytes:
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0\0\0\0")) + chunk(b"IEND", b"")
    )


# ---- external data in every placement ---------------------------------------------------------


def _ext(t: TensorProto, loc: str) -> TensorProto:
    return mf.set_external(t, loc)


def _sparse(name: str) -> onnx.SparseTensorProto:
    values = numpy_helper.from_array(np.array([1.0, 2.0], np.float32), name)
    return helper.make_sparse_tensor(values, numpy_helper.from_array(i64(0, 5), name + "_idx"), [4, 3])


def ext_initializer(loc):
    m = mf.conv_net()
    _ext(m.graph.initializer[0], loc)
    return m


def ext_sparse(loc, part):
    sp = _sparse("sw")
    _ext(getattr(sp, part), loc)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "sw"], ["y"])],
        "g",
        [mf.vinfo("x", [1, 4])],
        [mf.vinfo("y", [1, 3])],
        sparse_initializer=[sp],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)


def ext_constant(loc, attr="value"):
    if attr == "value":
        node = helper.make_node("Constant", [], ["w"], value=_ext(mf.init("cw", mf.rand((4, 3))), loc))
    else:
        sp = _sparse("sv")
        _ext(sp.values, loc)
        node = helper.make_node("Constant", [], ["w"], sparse_value=sp)
    return mf.make_model(
        [node, helper.make_node("MatMul", ["x", "w"], ["y"])], [mf.vinfo("x", [1, 4])], [mf.vinfo("y", [1, 3])]
    )


def ext_constant_sparse_indices(loc):
    node = helper.make_node("Constant", [], ["w"], sparse_value=_sparse("sv"))
    _ext(node.attribute[0].sparse_tensor.indices, loc)
    return mf.make_model(
        [node, helper.make_node("MatMul", ["x", "w"], ["y"])], [mf.vinfo("x", [1, 4])], [mf.vinfo("y", [1, 3])]
    )


def ext_constant_of_shape_attr(loc):
    value = _ext(numpy_helper.from_array(np.array([1.0], np.float32), "v"), loc)
    node = helper.make_node("ConstantOfShape", ["shape"], ["y"], value=value)
    return mf.make_model([node], [], [mf.vinfo("y", [2])], [mf.init("shape", i64(2))])


def ext_tensor_attr(loc):
    m = mf.no_layers()
    m.graph.node[0].attribute.append(helper.make_attribute("extra", _ext(mf.init("t", np.zeros(4, np.float32)), loc)))
    return m


def ext_tensors_attr(loc):
    m = mf.no_layers()
    m.graph.node[0].attribute.append(helper.make_attribute("extra", [_ext(mf.init("t", np.zeros(4, np.float32)), loc)]))
    return m


def ext_if_constant(loc):
    """The external tensor in a Constant of an If's then-branch (a graph named 'then')."""
    const = helper.make_node("Constant", [], ["w"], value=_ext(mf.init("cv", mf.rand((4, 3))), loc))
    then_graph = helper.make_graph(
        [const, helper.make_node("MatMul", ["x", "w"], ["y"])], "then", [], [mf.vinfo("y", [1, 3])]
    )
    else_graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "else",
        [],
        [mf.vinfo("y", [1, 3])],
        [mf.init("w", mf.rand((4, 3)))],
    )
    node = helper.make_node("If", ["cond"], ["y"], then_branch=then_graph, else_branch=else_graph)
    inputs = [mf.vinfo("cond", [], TensorProto.BOOL), mf.vinfo("x", [1, 4])]
    return mf.make_model([node], inputs, [mf.vinfo("y", [1, 3])])


def ext_training_info(loc):
    m = mf.no_layers()
    info = m.training_info.add()
    info.initialization.CopyFrom(
        helper.make_graph([], "init", [], [], [_ext(mf.init("t", np.ones(4, np.float32)), loc)])
    )
    return m


# ---- type confusion: an attribute declared one type, carrying another --------------------------


def type_confused_constant(loc: str, declared: int = AttributeProto.FLOAT) -> onnx.ModelProto:
    """MatMul by a Constant whose `value` carries an EXTERNAL 4x1 float tensor but is declared
    `declared` (FLOAT, UNDEFINED, ...): checks that trust the declared type never see the tensor,
    and `numpy_helper.to_array` reads `loc` relative to the working directory (16 bytes)."""
    node = helper.make_node(
        "Constant", [], ["w"], name="confused", value=_ext(mf.init("cw", np.zeros((4, 1), np.float32)), loc)
    )
    node.attribute[0].type = declared  # type: ignore[assignment]  # any int, on purpose
    mm = helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")
    return mf.make_model([node, mm], [mf.vinfo("x", [1, 4])], [mf.vinfo("y", [1, 1])])


def type_confused_subgraph(loc: str) -> onnx.ModelProto:
    """An attribute declared INT that carries a graph `g` whose initializer is external."""
    hidden = helper.make_graph([], "hidden", [], [], [_ext(mf.init("h", np.zeros(4, np.float32)), loc)])
    m = mf.no_layers()
    attr = helper.make_attribute("extra", 1)
    attr.g.CopyFrom(hidden)
    m.graph.node[0].attribute.append(attr)
    return m


TYPE_CONFUSED = {
    "constant_float": type_confused_constant,
    "constant_undefined": lambda loc: type_confused_constant(loc, AttributeProto.UNDEFINED),
    "constant_ints": lambda loc: type_confused_constant(loc, AttributeProto.INTS),
    "subgraph_in_int": type_confused_subgraph,
}
# Relative names a type-confused tensor has used to read a file next to the working directory.
CONFUSED_LOCATIONS = ("secret.txt", "./secret.txt", "sub/../secret.txt")


def _if_wrap(then_graph: onnx.GraphProto, depth: int) -> onnx.ModelProto:
    """then_graph nested `depth` Ifs deep; every else branch is a plain Identity."""
    graph = then_graph
    for level in range(depth):
        else_g = helper.make_graph(
            [helper.make_node("Identity", ["x"], ["y"])], f"else{level}", [], [mf.vinfo("y", [1, 4])]
        )
        node = helper.make_node("If", ["cond"], ["y"], then_branch=graph, else_branch=else_g, name=f"if{level}")
        graph = helper.make_graph([node], f"then{level}", [], [mf.vinfo("y", [1, 4])])
    inputs = [mf.vinfo("cond", [], TensorProto.BOOL), mf.vinfo("x", [1, 4])]
    return mf.make_model(list(graph.node), inputs, [mf.vinfo("y", [1, 4])])


def ext_if_deep(loc, depth=6):
    leaf = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "leaf",
        [],
        [mf.vinfo("y", [1, 4])],
        [_ext(mf.init("w", np.ones((1, 4), np.float32)), loc)],
    )
    return _if_wrap(leaf, depth)


def ext_loop_body(loc):
    body = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"]), helper.make_node("Add", ["a_in", "w"], ["a_out"])],
        "body",
        [mf.vinfo("i", [], TensorProto.INT64), mf.vinfo("c_in", [], TensorProto.BOOL), mf.vinfo("a_in", [3])],
        [mf.vinfo("c_out", [], TensorProto.BOOL), mf.vinfo("a_out", [3])],
        [_ext(mf.init("w", np.ones(3, np.float32)), loc)],
    )
    node = helper.make_node("Loop", ["n", "", "a0"], ["a"], body=body)
    return mf.make_model([node], [mf.vinfo("n", [], TensorProto.INT64), mf.vinfo("a0", [3])], [mf.vinfo("a", [3])])


def ext_scan_body(loc):
    w = helper.make_node("Constant", [], ["w"], value=_ext(mf.init("cw", np.ones(3, np.float32)), loc))
    body = helper.make_graph(
        [w, helper.make_node("Add", ["s_in", "w"], ["s_out"]), helper.make_node("Identity", ["s_out"], ["e"])],
        "body",
        [mf.vinfo("s_in", [3]), mf.vinfo("x_t", [3])],
        [mf.vinfo("s_out", [3]), mf.vinfo("e", [3])],
    )
    node = helper.make_node("Scan", ["s0", "xs"], ["s", "es"], body=body, num_scan_inputs=1)
    return mf.make_model(
        [node], [mf.vinfo("s0", [3]), mf.vinfo("xs", [2, 3])], [mf.vinfo("s", [3]), mf.vinfo("es", [2, 3])]
    )


def ext_function(loc):
    const = helper.make_node("Constant", [], ["w"], value=_ext(mf.init("fw", np.ones(4, np.float32)), loc))
    fn = helper.make_function(
        "local.fn",
        "AddW",
        ["a"],
        ["b"],
        [const, helper.make_node("Add", ["a", "w"], ["b"])],
        [helper.make_opsetid("", 21)],
    )
    node = helper.make_node("AddW", ["x"], ["y"], domain="local.fn")
    return mf.make_model(
        [node], [mf.vinfo("x", [4])], [mf.vinfo("y", [4])], extra_opsets=[("local.fn", 1)], functions=[fn]
    )


EXTERNAL = {
    "initializer": ext_initializer,
    "sparse_values": lambda loc: ext_sparse(loc, "values"),
    "sparse_indices": lambda loc: ext_sparse(loc, "indices"),
    "constant_value": ext_constant,
    "constant_sparse_value": lambda loc: ext_constant(loc, "sparse_value"),
    "constant_sparse_indices": ext_constant_sparse_indices,
    "constant_of_shape_attr": ext_constant_of_shape_attr,
    "tensor_attr": ext_tensor_attr,
    "tensors_attr": ext_tensors_attr,
    "if_constant": ext_if_constant,
    "if_depth1": lambda loc: ext_if_deep(loc, 1),
    "if_depth6": ext_if_deep,
    "loop_body": ext_loop_body,
    "scan_body": ext_scan_body,
    "function": ext_function,
    "training_info": ext_training_info,
}


# ---- share links (?config=<code>) that inflate to what a JSON parser cannot take ----------------


def link_code(text: str) -> str:
    """The ?config= code of any text, as qviz.config.url.config_code writes one ('z' + base64url(zlib))."""
    return "z" + base64.urlsafe_b64encode(zlib.compress(text.encode(), 9)).decode().rstrip("=")


NESTED_LINK = link_code("[" * 200_000)  # RecursionError in json.loads; 200 kB, under the inflate cap
LONG_NUMBER_LINK = link_code('{"version": ' + "9" * 200_000 + "}")  # ValueError: int max str digits
# Names that become markup if rendered as Markdown: an <h1> and two links; a link.
MARKUP_NODE_NAME = "pwn\n===\n\nhttps://evil.example/p www.evil.example"
MARKUP_NPZ_KEY = "[c](https://evil.example)"


# ---- extreme but legal: every page and export gives a correct page or a clear message ----------


def scaled_stack(value: float) -> onnx.ModelProto:
    """mf.gemm_stack(3, 8) with every float weight scaled so its largest magnitude is `value`: 1e38 is finite
    in float32, yet a histogram over its range asks numpy for more bins than exist; 1e-38 is at
    the edge of float32's normal range."""
    m = mf.gemm_stack(3, 8)
    for t in m.graph.initializer:
        w = numpy_helper.to_array(t).astype(np.float64)
        peak = np.abs(w).max()
        if peak > 0:  # the zero biases stay zero
            t.CopyFrom(numpy_helper.from_array((w / peak * value).astype(np.float32), t.name))
    return m


def nonfinite_stack() -> onnx.ModelProto:
    """mf.gemm_stack(3, 8) whose first weight holds NaN, +Inf and -Inf (loads, flagged)."""
    m = mf.gemm_stack(3, 8)
    w = numpy_helper.to_array(m.graph.initializer[0]).copy()
    w.flat[:3] = [np.nan, np.inf, -np.inf]
    m.graph.initializer[0].CopyFrom(numpy_helper.from_array(w, m.graph.initializer[0].name))
    return m


def one_layer() -> onnx.ModelProto:
    """One MatMul: x[N, 4] @ W[4, 3]."""
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="only")]
    return mf.make_model(nodes, [mf.vinfo("x", ["N", 4])], [mf.vinfo("y", ["N", 3])], [mf.init("w", mf.rand((4, 3)))])


EXTREME = {
    "huge_weights": lambda: scaled_stack(1e38),
    "float32_max_weights": lambda: scaled_stack(3.4e38),
    "tiny_weights": lambda: scaled_stack(1e-38),
    "nonfinite_weights": nonfinite_stack,
    "one_layer": one_layer,
    "no_layers": mf.no_layers,
}


# ---- memory and time bombs -------------------------------------------------------------------


def static_bomb(op: str) -> onnx.ModelProto:
    """A constant-input op asking for terabytes (caught statically)."""
    if op == "ConstantOfShape":
        nodes, inits = (
            [helper.make_node("ConstantOfShape", ["shape"], ["y"])],
            [mf.init("shape", i64(100_000, 100_000, 100))],
        )
    elif op == "Expand":
        nodes, inits = (
            [helper.make_node("Expand", ["one", "shape"], ["y"])],
            [mf.init("one", np.ones(1, np.float32)), mf.init("shape", i64(10**6, 10**6))],
        )
    elif op == "Tile":
        nodes, inits = (
            [helper.make_node("Tile", ["one", "reps"], ["y"])],
            [mf.init("one", np.ones(1, np.float32)), mf.init("reps", i64(10**11))],
        )
    else:
        nodes = [helper.make_node("Range", ["a", "b", "c"], ["y"])]
        inits = [mf.init("a", np.float32(0)), mf.init("b", np.float32(1e12)), mf.init("c", np.float32(1))]
    return mf.make_model(nodes, [], [mf.vinfo("y", None)], inits)


def concat_hidden_bomb() -> onnx.ModelProto:
    nodes = [
        helper.make_node("Unsqueeze", ["a", "zero"], ["a1"]),
        helper.make_node("Concat", ["a1", "b"], ["shape"], axis=0),
        helper.make_node("ConstantOfShape", ["shape"], ["y"], name="hidden"),
    ]
    inits = [mf.init("a", np.int64(50_000)), mf.init("zero", i64(0)), mf.init("b", i64(50_000))]
    return mf.make_model(nodes, [], [mf.vinfo("y", None)], inits)


def shape_op_bomb() -> onnx.ModelProto:
    """ConstantOfShape(Shape(x) * [512, 256]) = 2 GiB: the size exists only once Shape runs."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Mul", ["s", "k"], ["big"]),
        helper.make_node("ConstantOfShape", ["big"], ["y"], name="shape_bomb"),
    ]
    return mf.make_model(nodes, [mf.vinfo("x", [64, 64])], [mf.vinfo("y", None)], [mf.init("k", i64(512, 256))])


def input_shape_bomb(op: str) -> onnx.ModelProto:
    """The size comes from a graph input: only a run can tell."""
    if op == "ConstantOfShape":
        nodes = [helper.make_node("ConstantOfShape", ["shape"], ["y"])]
        return mf.make_model(nodes, [mf.vinfo("shape", [2], TensorProto.INT64)], [mf.vinfo("y", None)])
    if op == "Tile":
        nodes = [helper.make_node("Tile", ["one", "reps"], ["y"])]
        return mf.make_model(
            nodes,
            [mf.vinfo("reps", [1], TensorProto.INT64)],
            [mf.vinfo("y", None)],
            [mf.init("one", np.ones(1, np.float32))],
        )
    if op == "Expand":
        nodes = [helper.make_node("Expand", ["one", "shape"], ["y"])]
        return mf.make_model(
            nodes,
            [mf.vinfo("shape", [2], TensorProto.INT64)],
            [mf.vinfo("y", None)],
            [mf.init("one", np.ones(1, np.float32))],
        )
    nodes = [helper.make_node("Range", ["a", "limit", "c"], ["y"])]
    return mf.make_model(
        nodes,
        [mf.vinfo("limit", [], TensorProto.FLOAT)],
        [mf.vinfo("y", None)],
        [mf.init("a", np.float32(0)), mf.init("c", np.float32(1))],
    )


def endless_loop() -> onnx.ModelProto:
    """Loop with trip count 2^62 and a body that only adds: a CPU/time bomb."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"]), helper.make_node("Add", ["a_in", "one"], ["a_out"])],
        "body",
        [mf.vinfo("i", [], TensorProto.INT64), mf.vinfo("c_in", [], TensorProto.BOOL), mf.vinfo("a_in", [1])],
        [mf.vinfo("c_out", [], TensorProto.BOOL), mf.vinfo("a_out", [1])],
        [mf.init("one", np.ones(1, np.float32))],
    )
    node = helper.make_node("Loop", ["n", "", "a0"], ["a"], body=body, name="endless")
    return mf.make_model([node], [mf.vinfo("a0", [1])], [mf.vinfo("a", [1])], [mf.init("n", np.array(2**62, np.int64))])


# ---- structure -------------------------------------------------------------------------------


def proto_field(message_type, name: str, payload: bytes) -> bytes:
    """Wire bytes of one length-delimited field (protobuf concatenation = merge)."""
    number = message_type.DESCRIPTOR.fields_by_name[name].number
    length, out = len(payload), bytearray([number << 3 | 2])
    while length > 0x7F:
        out.append(length & 0x7F | 0x80)
        length >>= 7
    return bytes(out + bytes([length])) + payload


def nested_if_bytes(depth: int) -> bytes:
    """If nested `depth` deep, encoded by hand (onnx.helper cannot copy very deep graphs).

    Each level costs 3 protobuf nesting levels (GraphProto > NodeProto > AttributeProto): 32
    Ifs stay within protobuf's limit of 100 and 33 do not."""
    y = onnx.ValueInfoProto(name="y")  # untyped: a typed output would add 4 nesting levels
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "leaf", [], [y]).SerializeToString()
    for level in range(depth):
        else_g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], f"e{level}", [], [y])
        node = helper.make_node("If", ["cond"], ["y"], else_branch=else_g, name=f"if{level}").SerializeToString()
        attr = helper.make_attribute("then_branch", onnx.GraphProto())
        attr.ClearField("g")
        node += proto_field(
            onnx.NodeProto, "attribute", attr.SerializeToString() + proto_field(onnx.AttributeProto, "g", graph)
        )
        graph = helper.make_graph([], f"t{level}", [], [y]).SerializeToString() + proto_field(
            onnx.GraphProto, "node", node
        )
    shell = mf.make_model([], [mf.vinfo("cond", [], TensorProto.BOOL), mf.vinfo("x", [1, 4])], [mf.vinfo("y", [1, 4])])
    shell.graph.ClearField("node")
    body = shell.graph.SerializeToString() + graph  # merge: the shell's inputs/outputs + the If node
    shell.ClearField("graph")
    return shell.SerializeToString() + proto_field(onnx.ModelProto, "graph", body)


def custom_domain() -> onnx.ModelProto:
    node = helper.make_node("Evil", ["x"], ["y"], name="evil", domain="com.evil")
    return mf.make_model([node], [mf.vinfo("x", [4])], [mf.vinfo("y", [4])], extra_opsets=[("com.evil", 1)])


def unknown_contrib_op() -> onnx.ModelProto:
    """com.microsoft is allowed (onnxruntime's contrib ops), but this op does not exist there."""
    node = helper.make_node("NoSuchKernel", ["x"], ["y"], name="fake_contrib", domain="com.microsoft")
    return mf.make_model([node], [mf.vinfo("x", [4])], [mf.vinfo("y", [4])], extra_opsets=[("com.microsoft", 1)])


def hostile_text() -> onnx.ModelProto:
    """Markup and terminal escapes in node names, doc strings and metadata."""
    m = mf.mlp()
    m.graph.node[0].name = XSS
    m.graph.node[2].name = MARKDOWN
    m.graph.node[4].name = ANSI
    m.graph.node[0].doc_string = MARKDOWN
    m.doc_string = XSS
    helper.set_model_props(m, {XSS: MARKDOWN, "ansi": ANSI})
    return m


def long_node_name(n: int = 2**20) -> onnx.ModelProto:
    m = mf.conv_net()
    m.graph.node[0].name = "A" * n
    return m


def long_doc_string(n: int = 2**20) -> onnx.ModelProto:
    m = mf.conv_net()
    m.graph.doc_string = "B" * n
    return m


def _versions(ir: int, opset: int) -> bytes:
    m = mf.conv_net()
    m.ir_version = ir
    m.opset_import[0].version = opset
    return mf.to_bytes(m)


def build_corpus() -> dict[str, Case]:
    b = mf.to_bytes
    conv = b(mf.conv_net())
    corpus = {
        "empty": Case(b"", match="empty"),
        "random_bytes": Case(np.random.default_rng(1).bytes(4096), match="not an ONNX model"),
        "truncated": Case(conv[: len(conv) // 2], match="not an ONNX model"),
        "png_renamed": Case(png_bytes(), match="not an ONNX model"),
        "text_file": Case(b"name = 'not a model'\n", match="not an ONNX model"),
    }
    for place, build in EXTERNAL.items():
        for key, loc in LOCATIONS.items():
            if key == "secrets" or place in ("initializer", "sparse_values") or (place, key) == ("if_depth6", "parent"):
                corpus[f"external_{place}_{key}"] = Case(b(build(loc)), match="external data")
    for place, build in TYPE_CONFUSED.items():
        corpus[f"type_confused_{place}"] = Case(b(build(LOCATIONS["secrets"])), match="is declared")
    for op in ("ConstantOfShape", "Expand", "Tile", "Range"):
        corpus[f"static_bomb_{op}"] = Case(b(static_bomb(op)), match="would create a")
    corpus["concat_hidden_bomb"] = Case(b(concat_hidden_bomb()), match="would create a")
    corpus["shape_op_bomb"] = Case(
        b(shape_op_bomb()), "run_model", "memory", "needed more than", {"x": np.zeros((64, 64), np.float32)}
    )
    corpus["cos_runtime_bomb"] = Case(
        b(input_shape_bomb("ConstantOfShape")), "run_model", "memory", "needed more than", {"shape": i64(32768, 16384)}
    )
    corpus["expand_runtime_bomb"] = Case(
        b(input_shape_bomb("Expand")), "run_model", "memory", "needed more than", {"shape": i64(32768, 16384)}
    )
    corpus["tile_runtime_bomb"] = Case(
        b(input_shape_bomb("Tile")), "run_model", "memory", "needed more than", {"reps": i64(2**29)}
    )
    corpus["range_runtime_bomb"] = Case(
        b(input_shape_bomb("Range")), "run_model", "memory", "needed more than", {"limit": np.array(6e8, np.float32)}
    )
    corpus["endless_loop"] = Case(
        b(endless_loop()), "run_model", "wall_time", "took longer than", {"a0": np.zeros(1, np.float32)}
    )
    corpus["if_nested_32"] = Case(nested_if_bytes(32), expect="accept")
    corpus["if_nested_33"] = Case(nested_if_bytes(33), match="not an ONNX model")
    corpus["custom_domain"] = Case(b(custom_domain()), match="custom domain 'com.evil'")
    corpus["unknown_contrib_op"] = Case(
        b(unknown_contrib_op()), "run_model", "model", "onnxruntime", {"x": np.zeros(4, np.float32)}
    )
    corpus["opset_99"] = Case(_versions(10, 99), match="opset 99")
    corpus["ir_99"] = Case(_versions(99, 21), match="IR version 99")
    corpus["hostile_text"] = Case(b(hostile_text()), expect="accept")
    corpus["node_name_1mb"] = Case(b(long_node_name()), match="1,048,576 characters")
    corpus["doc_string_1mb"] = Case(b(long_doc_string()), match="1,048,576 characters")
    return corpus


CORPUS = build_corpus()
